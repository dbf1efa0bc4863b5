// Saving and loading LayersModels without tfjs-node: round trip (predictions, layer names), the
// model.json format, no temp files left behind, and sharded model.json files as tfjs-node or the
// converter write them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../../src/core/config/schema';
import { buildModel, wrapLoadedModel } from '../../src/trainer/models';
import { loadLayersModel, saveLayersModel } from '../../src/trainer/modelIO';

let tmp: string;
before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-modelio-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  tf.disposeVariables();
});

const cnn: ModelSpec = {
  type: 'cnn',
  conv: [{ filters: 4, kernel: 3, stride: 1, pool: 2 }],
  hidden: [8],
  activation: 'relu',
  dropout: 0.5,
  maxNorm: 2,
};

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('modelIO', () => {
  test('save → load round trip: same predictions, layer names, no temp files', async () => {
    const m = buildModel(cnn, [8, 8, 1], 10, 3);
    const dir = path.join(tmp, 'teacher');
    const result = await saveLayersModel(m.logitsModel, dir);
    assert.ok(result.modelArtifactsInfo.weightDataBytes! > 0);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin']);

    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.match(json.generatedBy, /tfjs-layers/);
    assert.ok('convertedBy' in json);
    assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
    const bytes = json.weightsManifest[0].weights.reduce((a: number, w: { shape: number[] }) => a + 4 * w.shape.reduce((x, y) => x * y, 1), 0);
    assert.equal(fs.statSync(path.join(dir, 'weights.bin')).size, bytes);

    // saving again over an existing model is fine and still leaves only the two files
    await saveLayersModel(m.logitsModel, dir);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin']);

    for (const where of [dir, path.join(dir, 'model.json')]) {
      const loaded = await loadLayersModel(where);
      assert.deepEqual(
        loaded.layers.map((l) => l.name),
        m.logitsModel.layers.map((l) => l.name),
      );
      const x = tf.randomUniform([5, 8, 8, 1], 0, 1, 'float32', 9);
      const a = m.logitsModel.predict(x) as tf.Tensor;
      const b = loaded.predict(x) as tf.Tensor;
      // tfjs re-applies the max-norm constraint when it sets loaded weights (LayerVariable.write),
      // which scales each kernel column by norm/(norm + 1e-7): equal up to float rounding.
      assert.ok(maxAbsDiff(a, b) < 1e-5);
      // loaded as a teacher, the taps are those of the built model
      const w = wrapLoadedModel(loaded);
      assert.deepEqual(
        w.taps.map((t) => [t.name, t.shape]),
        m.taps.map((t) => [t.name, t.shape]),
      );
      tf.dispose([x, a, b]);
      w.dispose();
    }
    m.dispose();
  });

  test('loads a sharded model.json (several weight groups and shard files)', async () => {
    const m = buildModel({ type: 'mlp', hidden: [6], activation: 'tanh', inputDropout: 0, dropout: 0 }, [5], 3, 4);
    const src = path.join(tmp, 'single');
    await saveLayersModel(m.logitsModel, src);
    const json = JSON.parse(fs.readFileSync(path.join(src, 'model.json'), 'utf8'));
    const data = fs.readFileSync(path.join(src, 'weights.bin'));
    const specs: { name: string; shape: number[] }[] = json.weightsManifest[0].weights;
    // two groups: [fc1 kernel, fc1 bias] and [logits kernel, logits bias], the first split in two shards
    const size = (s: { shape: number[] }) => 4 * s.shape.reduce((a, b) => a * b, 1);
    const firstBytes = size(specs[0]) + size(specs[1]);
    const dir = path.join(tmp, 'sharded');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), data.subarray(0, 16));
    fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), data.subarray(16, firstBytes));
    fs.writeFileSync(path.join(dir, 'group2-shard1of1.bin'), data.subarray(firstBytes));
    json.weightsManifest = [
      { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs.slice(0, 2) },
      { paths: ['group2-shard1of1.bin'], weights: specs.slice(2) },
    ];
    json.convertedBy = 'TensorFlow.js Converter v4.22.0';
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));

    const loaded = await loadLayersModel(path.join(dir, 'model.json'));
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 1);
    const a = m.logitsModel.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    assert.equal(maxAbsDiff(a, b), 0); // no constraint: bit-identical
    assert.deepEqual(
      loaded.layers.map((l) => l.name),
      ['input', 'fc1', 'logits'],
    );
    tf.dispose([x, a, b]);
    loaded.dispose();
    m.dispose();
  });

  test('clear errors for a missing file, a missing shard and a graph model', async () => {
    await assert.rejects(loadLayersModel(path.join(tmp, 'nope')), /cannot read the model file/);
    const dir = path.join(tmp, 'broken');
    fs.mkdirSync(dir);
    const m = buildModel({ type: 'mlp', hidden: [], activation: 'relu', inputDropout: 0, dropout: 0 }, [3], 2, 1);
    await saveLayersModel(m.logitsModel, dir);
    fs.rmSync(path.join(dir, 'weights.bin'));
    await assert.rejects(loadLayersModel(dir), /weights\.bin.*does not exist/);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: {}, weightsManifest: [] }));
    await assert.rejects(loadLayersModel(dir), /graph model/);
    m.dispose();
  });
});
