// Worker of test/pipeline_gloo.test.ts: the toy chain of helpers/pipeline_chain.ts pipelined over
// a real Gloo group (stage = rank, point-to-point through groupTransport). Each rank checks its
// stages' gradients against the whole chain's (which it computes itself: the data is seeded), the
// loss broadcast from the last stage and a stageSum of the squared gradient norms.
import { tf } from '@falcon/tensor';
import { destroyProcessGroup, groupTransport, initializeModelParallel, initProcessGroup, pipelineSchedule, PIPELINE_FREE_TAG, runPipeline, stageBroadcast, stageSum } from '../../src/index.js';
import type { PipelineAction } from '../../src/index.js';
import { chainInputs, chainStage, reference, SHAPE } from '../helpers/pipeline_chain.js';

const [v, m] = process.argv.slice(2).map(Number);
const world = await initProcessGroup({ timeoutMs: 20_000 });
const { pp } = await initializeModelParallel({ pp: world.size });
const s = pp.size;
const r = pp.rank;
const { w, data } = chainInputs(s, v, m);
const log: PipelineAction[] = [];
const st = chainStage(r, s, v, w, data, log);
const transport = groupTransport(pp);
await runPipeline(st.fns, { stages: s, chunks: v, microbatches: m, stage: r, shape: SHAPE, transport });
const ref = reference(w, data);
const failures: string[] = [];
const at = { stage: r, stages: s };
if (JSON.stringify(log) !== JSON.stringify(pipelineSchedule(v > 1 ? 'interleaved' : '1f1b', { stages: s, microbatches: m, chunks: v }, r))) failures.push('the passes ran out of schedule order');
let sq = 0;
for (let c = 0; c < v; c++) {
  const vs = c * s + r;
  const got = st.grads.get(vs)!;
  // float32: the same products in another association (~1e-7 relative)
  const err = tf.max(tf.abs(tf.sub(got, ref.dws[vs]))).dataSync()[0] / tf.max(tf.abs(ref.dws[vs])).dataSync()[0];
  if (!(err < 1e-5)) failures.push(`virtual stage ${vs}: gradient off by ${err}`);
  sq += tf.sum(tf.square(got)).dataSync()[0];
}
const lossHere = r === (s * v - 1) % s ? tf.tensor1d([st.loss()]) : undefined;
const loss = (await stageBroadcast(transport, at, lossHere, [1], (s * v - 1) % s, PIPELINE_FREE_TAG)).dataSync()[0];
if (Math.abs(loss - ref.loss) > 1e-4 * Math.abs(ref.loss)) failures.push(`loss ${loss}, the chain's ${ref.loss}`);
const total = (await stageSum(transport, at, tf.tensor1d([sq]), PIPELINE_FREE_TAG + 1)).dataSync()[0];
const want = ref.dws.reduce((a, g) => a + tf.sum(tf.square(g)).dataSync()[0], 0);
if (Math.abs(total - want) > 1e-5 * want) failures.push(`stageSum of the squared norms ${total}, the chain's ${want}`);
console.log(`RESULT ${JSON.stringify({ rank: r, failures, total })}`);
await destroyProcessGroup();
