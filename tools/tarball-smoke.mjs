// Runs inside an empty project where the release tarballs were installed (tools/test-tarballs.sh
// here, tools/device/run-tarballs.sh on the GPU machine): imports the installed packages as a user
// would and checks them. Prints one JSON line per check and a summary; exits 1 if any check fails.
//
//   node tarball-smoke.mjs --backend cpu|cuda [--built bitnet,...]
//
// - the CUDA addon of tensor, mamba2, attention and bitnet is found in its prebuilt platform
//   package (or in the package's own build/ for the packages named by --built) and loads here
//   (no GPU is needed to load it);
// - with --backend cpu: initBackend('cuda') on a machine without a GPU is a BackendUnavailableError
//   that says what is missing; with --backend cuda: initBackend('cuda') starts;
// - ssdChunkScan on that backend equals its reference (computed on cpu), on awkward sizes;
// - nothing printed the tfjs "install tfjs-node" banner.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { backend: { type: 'string', default: 'cpu' }, built: { type: 'string', default: '' } } });
const backend = args.backend;
const built = args.built ? args.built.split(',') : [];
if (!['cpu', 'cuda'].includes(backend)) throw new Error(`--backend must be cpu or cuda, got '${backend}'`);

const printed = [];
for (const k of ['log', 'warn', 'error', 'info']) {
  const orig = console[k].bind(console);
  console[k] = (...a) => {
    printed.push(a.join(' '));
    orig(...a);
  };
}

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.push({ check: name, ok: true, ms: Date.now() - t0, ...(detail ?? {}) });
  } catch (e) {
    results.push({ check: name, ok: false, ms: Date.now() - t0, error: e.message });
  }
  process.stdout.write(JSON.stringify(results.at(-1)) + '\n');
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const tensor = await import('@falcon/tensor');
const mamba2 = await import('@falcon/mamba2');
const { tf, initBackend, findCudaAddon, BackendUnavailableError } = tensor;
const require = createRequire(import.meta.url);

for (const name of ['tensor', 'mamba2', 'attention', 'bitnet']) {
  await check(`addon ${name}: found and loads`, async () => {
    // dist/index.js → the package folder → build/falcon_<name>_cuda.node (where the package looks first)
    const ownUrl = new URL(`../build/falcon_${name}_cuda.node`, import.meta.resolve(`@falcon/${name}`)).href;
    const r = findCudaAddon(name, ownUrl);
    assert(r.found, r.message ?? 'not found');
    const want = built.includes(name) ? 'build' : 'platform-package';
    assert(r.source === want, `found in ${r.source} (${r.path}), expected ${want}`);
    const addon = require(r.path);
    assert(typeof addon.init === 'function', `${r.path} has no init()`);
    const probe = name === 'tensor' ? addon.probe() : undefined;
    return { source: r.source, path: r.path.replace(process.cwd() + '/', ''), ...(probe ? { deviceCount: probe.deviceCount, probeError: probe.error } : {}) };
  });
}

await check(`initBackend('cuda') ${backend === 'cuda' ? 'starts' : 'explains what is missing'}`, async () => {
  if (backend === 'cuda') {
    const s = await initBackend('cuda');
    return { info: s.info };
  }
  const err = await initBackend('cuda').then(
    () => undefined,
    (e) => e,
  );
  assert(err instanceof BackendUnavailableError, `expected a BackendUnavailableError, got ${err ? err.message : 'success'}`);
  assert(/backend 'cuda' is unavailable: .+\(available backends: cpu/.test(err.message), `unclear message: ${err.message}`);
  return { message: err.message };
});

await check(`ssdChunkScan on ${backend} equals its reference`, async () => {
  // Awkward sizes: seqlen 37 is not a multiple of the chunk (16), 4 heads share 2 groups, batch 2.
  const [b, l, h, p, g, n] = [2, 37, 4, 8, 2, 16];
  await initBackend('cpu');
  const make = () => {
    const x = tf.randomNormal([b, l, h, p], 0, 1, 'float32', 1);
    const dt = tf.randomNormal([b, l, h], 0, 1, 'float32', 2);
    const A = tf.neg(tf.exp(tf.randomNormal([h], 0, 0.5, 'float32', 3)));
    const B = tf.randomNormal([b, l, g, n], 0, 1, 'float32', 4);
    const C = tf.randomNormal([b, l, g, n], 0, 1, 'float32', 5);
    const D = tf.randomNormal([h], 0, 1, 'float32', 6);
    const dtBias = tf.randomNormal([h], 0, 0.5, 'float32', 7);
    return { x, dt, A, B, C, D, dtBias };
  };
  const cpuIn = make();
  const host = Object.fromEntries(Object.entries(cpuIn).map(([k, v]) => [k, { data: v.dataSync().slice(), shape: v.shape }]));
  const opts = (t) => ({ D: t.D, dtBias: t.dtBias, dtSoftplus: true, chunkSize: 16, returnFinalStates: true });
  const ref = mamba2.ssdChunkScanReference(cpuIn.x, cpuIn.dt, cpuIn.A, cpuIn.B, cpuIn.C, opts(cpuIn));
  const refY = ref.y.dataSync().slice();
  const refS = ref.finalStates.dataSync().slice();
  if (backend !== 'cpu') await initBackend(backend);
  const t = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, tf.tensor(v.data, v.shape, 'float32')]));
  const out = mamba2.ssdChunkScan(t.x, t.dt, t.A, t.B, t.C, opts(t));
  const y = await out.y.data();
  const s = await out.finalStates.data();
  // Tolerance: the reference runs the recurrence step by step in float32 over 37 steps, the kernel
  // the chunked form (other summation order); their difference is a few float32 roundings of the
  // output's scale (~1e-6 measured). 1e-4 of max|y| keeps a wide margin and still catches any wrong
  // term, which would be of the output's own size.
  const err = (a, r) => {
    let m = 0;
    let scale = 0;
    for (let i = 0; i < r.length; i++) {
      m = Math.max(m, Math.abs(a[i] - r[i]));
      scale = Math.max(scale, Math.abs(r[i]));
    }
    return m / scale;
  };
  const ey = err(y, refY);
  const es = err(s, refS);
  assert(y.length === b * l * h * p && s.length === b * h * p * n, `output sizes ${y.length}, ${s.length}`);
  assert(ey < 1e-4 && es < 1e-4, `relative error y ${ey}, finalStates ${es} (tolerance 1e-4)`);
  return { relErrY: ey, relErrFinalStates: es, backend: tensor.currentBackend() };
});

await check('no tfjs "install tfjs-node" banner', async () => {
  const banner = printed.find((s) => /tfjs-node|running TensorFlow\.js in Node/.test(s));
  assert(!banner, `printed: ${banner}`);
});

const failed = results.filter((r) => !r.ok);
console.log(`== tarball smoke on ${backend}: ${results.length - failed.length}/${results.length} checks pass${failed.length ? ` (failed: ${failed.map((f) => f.check).join('; ')})` : ''}`);
process.exitCode = failed.length ? 1 : 0;
