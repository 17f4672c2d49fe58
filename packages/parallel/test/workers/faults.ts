// Worker of test/faults.test.ts. Scenarios (argv[2]):
//   kill    every rank all-reduces a large tensor in a loop; the last rank SIGKILLs itself in the
//           middle of the third one. Survivors must get a CollectiveError naming the dead rank and
//           the op, and exit non-zero (the recommended pattern: catch, report, process.exit(1)).
//   kill0   the same with rank 0, which hosts the store, as the victim.
//   hang    the last rank stays alive but never joins the second all-reduce: the others time out
//           naming it.
//   recv    rank 1 waits to receive from the last rank, which exits without sending: rank 1
//           fails naming it (op 'recv').
//   irecv   the same with a posted receive (irecv) whose handle rank 1 waits for synchronously
//           (op 'recv', the native op).
//   absent  (started without the last rank) the rendezvous times out naming it.
// Prints `RESULT {...}` with what it caught, then exits 1 on a collective error.
import { tf } from '@falcon/tensor';
import { allReduce, CollectiveError, destroyProcessGroup, initProcessGroup, irecv, recv } from '../../src/index.js';

const scenario = process.argv[2];
const timeoutMs = Number(process.env.FAULT_TIMEOUT_MS ?? 4000);

function report(e: unknown, t0: number): never {
  const c = e as CollectiveError;
  console.log(`RESULT ${JSON.stringify({ caught: c instanceof CollectiveError, op: c.op, missingRank: c.missingRank, rank: c.rank, message: c.message, afterMs: Date.now() - t0 })}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let t0 = Date.now();
  let pg;
  try {
    pg = await initProcessGroup({ timeoutMs });
  } catch (e) {
    report(e, t0);
  }
  const last = pg.size - 1;
  const kill = scenario === 'kill' || scenario === 'kill0';
  const victim = scenario === 'kill0' ? 0 : last;
  const x = tf.ones([kill ? 4_000_000 : 16]);
  if (scenario === 'recv' || scenario === 'irecv') {
    if (pg.rank === last) {
      await new Promise((r) => setTimeout(r, 300));
      process.kill(process.pid, 'SIGKILL');
    }
    if (pg.rank === 1) {
      t0 = Date.now();
      try {
        if (scenario === 'irecv') irecv([8], 'float32', { src: last }).wait();
        else await recv([8], 'float32', { src: last }).wait();
      } catch (e) {
        report(e, t0);
      }
    }
    await new Promise((r) => setTimeout(r, timeoutMs + 1000)); // rank 0 keeps the store up meanwhile
    process.exit(0);
  }
  for (let i = 0; i < 5; i++) {
    if (kill && pg.rank === victim && i === 2) setTimeout(() => process.kill(process.pid, 'SIGKILL'), 5);
    if (scenario === 'hang' && pg.rank === last && i === 1) {
      await new Promise((r) => setTimeout(r, timeoutMs * 2));
      process.exit(0);
    }
    t0 = Date.now();
    try {
      const y = await allReduce(x).wait();
      y.dispose();
    } catch (e) {
      report(e, t0);
    }
  }
  await destroyProcessGroup();
  console.log('RESULT {"caught": false}');
}

void main();
