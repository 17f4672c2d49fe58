// Worker of test/model_parallel.test.ts: tp 2 × dp 2 on 4 ranks; each group's all-reduce of
// 2^rank must give the sum over exactly that group's ranks, and a broadcast from the group's
// first rank must arrive.
import { tf } from '@falcon/tensor';
import { allReduce, broadcast, destroyProcessGroup, initializeModelParallel, initProcessGroup } from '../../src/index.js';

async function main(): Promise<void> {
  const world = await initProcessGroup({ timeoutMs: 20_000 });
  const mp = await initializeModelParallel({ tp: 2, dp: 2 });
  const failures: string[] = [];
  const want = { tp: [[0, 1], [2, 3]], dp: [[0, 2], [1, 3]], pp: [[0], [1], [2], [3]] } as const;
  for (const k of ['tp', 'dp', 'pp', 'mp', 'tpCp', 'dpCp'] as const) {
    const g = mp[k];
    if (k in want) {
      const exp = (want as Record<string, readonly (readonly number[])[]>)[k].find((l) => l.includes(world.rank))!;
      if (g.ranks.join(',') !== exp.join(',')) failures.push(`${k}: ranks [${g.ranks}], want [${exp}]`);
    }
    const s = (await allReduce(tf.scalar(2 ** world.rank), { group: g }).wait()).dataSync()[0];
    const e = g.ranks.reduce((a, r) => a + 2 ** r, 0);
    if (s !== e) failures.push(`${k} allReduce: ${s}, want ${e}`);
    const b = (await broadcast(tf.scalar(world.rank * 10), { src: g.ranks[0], group: g }).wait()).dataSync()[0];
    if (b !== g.ranks[0] * 10) failures.push(`${k} broadcast: ${b}`);
  }
  if (mp.coords.tp !== world.rank % 2 || mp.coords.dp !== Math.floor(world.rank / 2)) failures.push(`coords ${JSON.stringify(mp.coords)}`);
  await destroyProcessGroup();
  console.log(`RESULT ${JSON.stringify({ failures })}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
