// Saving and loading tfjs LayersModels in plain Node, without tfjs-node's `file://` handler:
// `model.json` (topology + weights manifest) and `weights.bin`, written atomically (temp files,
// then rename) so a crash never leaves a half-written model. The loader also reads model.json
// files written by tfjs-node or the tfjs converter (several shard files per weight group).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
}

/** An IOHandler whose `save` writes `<dir>/model.json` and `<dir>/weights.bin` atomically. */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('saving binary (graph-model) topologies is not supported');
      await fs.promises.mkdir(dir, { recursive: true });
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.signature != null) modelJSON.signature = artifacts.signature;

      const weightsPath = path.join(dir, WEIGHTS_BIN);
      const jsonPath = path.join(dir, MODEL_JSON);
      const weightsTmp = tempName(weightsPath);
      const jsonTmp = tempName(jsonPath);
      try {
        await fs.promises.writeFile(weightsTmp, Buffer.from(weights));
        await fs.promises.writeFile(jsonTmp, JSON.stringify(modelJSON));
        // weights first: a model.json on disk always names weights that are complete.
        await fs.promises.rename(weightsTmp, weightsPath);
        await fs.promises.rename(jsonTmp, jsonPath);
      } catch (e) {
        await Promise.all([weightsTmp, jsonTmp].map((f) => fs.promises.rm(f, { force: true })));
        throw e;
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({ ...artifacts, weightData: weights }) };
    },
  };
}

/** Saves `model` as `<dir>/model.json` + `<dir>/weights.bin` (the folder is created). */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<tf.io.SaveResult> {
  return model.save(fileSaveHandler(dir));
}

/** `dir` → `dir/model.json`; a path to a .json file is taken as is. */
export function resolveModelJsonPath(dirOrFile: string): string {
  try {
    if (fs.statSync(dirOrFile).isDirectory()) return path.join(dirOrFile, MODEL_JSON);
  } catch {
    /* reported when reading */
  }
  return dirOrFile;
}

/** An IOHandler whose `load` reads a model.json and every weight shard it names. */
export function fileLoadHandler(dirOrFile: string): tf.io.IOHandler {
  const jsonPath = resolveModelJsonPath(dirOrFile);
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(await fs.promises.readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`cannot read the model file ${jsonPath}: ${(e as Error).message}`);
      }
      if (modelJSON == null || typeof modelJSON !== 'object' || modelJSON.modelTopology == null)
        throw new Error(`${jsonPath} is not a tfjs model.json (no modelTopology)`);
      if (modelJSON.format === 'graph-model')
        throw new Error(`${jsonPath} is a tfjs graph model; only LayersModels (format "layers-model", e.g. converted from Keras) can be used`);
      const base = path.dirname(jsonPath);
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const p of group.paths) buffers.push(toArrayBuffer(await readShard(base, p)));
        }
        return [tf.io.getWeightSpecs(manifest), tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

async function readShard(base: string, p: string): Promise<Buffer> {
  const candidates = [p];
  try {
    const decoded = decodeURIComponent(p);
    if (decoded !== p) candidates.push(decoded);
  } catch {
    /* not URI-encoded */
  }
  for (const c of candidates) {
    try {
      return await fs.promises.readFile(path.resolve(base, c));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`weight file ${path.resolve(base, p)} named in ${path.join(base, MODEL_JSON)} does not exist`);
}

/** Loads a LayersModel from a folder holding model.json or from a model.json path. */
export async function loadLayersModel(dirOrFile: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(dirOrFile));
}
