// Makes the recorded-run fixtures in test/fixtures/run/ from real run folders, trimmed to stay
// small: compact JSON, numbers rounded (4 significant digits in probes, 6 in metrics), no saved
// models. Usage:
//   npm run build
//   node dist/cli.js run test/fixtures/run/cnn-hints.distill.json --runs-dir /tmp/fixture-runs
//   node dist/cli.js run examples/quick-mnist.distill.json --runs-dir /tmp/fixture-runs
//   node dist/cli.js run test/fixtures/run/honest.distill.json --runs-dir /tmp/fixture-runs
//   node --import tsx test/webview/makeFixture.ts /tmp/fixture-runs/<id> cnn-hints [--no-probes]
import * as fs from 'node:fs';
import * as path from 'node:path';

const [src, name, ...flags] = process.argv.slice(2);
if (!src || !name) throw new Error('usage: makeFixture.ts <run folder> <fixture name> [--no-probes]');
const dest = path.join(__dirname, '..', 'fixtures', 'run', name);
fs.rmSync(dest, { recursive: true, force: true });
fs.mkdirSync(path.join(dest, 'probes'), { recursive: true });

const round = (digits: number) => (_k: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(digits)) : v);

const manifest = JSON.parse(fs.readFileSync(path.join(src, 'manifest.json'), 'utf8'));
delete manifest.pid;
fs.writeFileSync(path.join(dest, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
fs.copyFileSync(path.join(src, 'config.json'), path.join(dest, 'config.json'));
fs.copyFileSync(path.join(src, 'trainer.log'), path.join(dest, 'trainer.log'));
const lines = fs.readFileSync(path.join(src, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean);
fs.writeFileSync(path.join(dest, 'metrics.jsonl'), lines.map((l) => JSON.stringify(JSON.parse(l), round(6))).join('\n') + '\n');
if (!flags.includes('--no-probes')) {
  for (const f of fs.readdirSync(path.join(src, 'probes'))) {
    const rec = JSON.parse(fs.readFileSync(path.join(src, 'probes', f), 'utf8'));
    fs.writeFileSync(path.join(dest, 'probes', f), JSON.stringify(rec, round(4)));
  }
}
// The finished models' test predictions (the agreement matrix over the whole test set), when the run has them.
const predictions = path.join(src, 'test-predictions.json');
if (fs.existsSync(predictions)) fs.copyFileSync(predictions, path.join(dest, 'test-predictions.json'));
