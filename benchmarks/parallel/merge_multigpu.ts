// Merges what tools/device/run-multigpu.sh's parts wrote into one JSON and one markdown file (the
// device brings back at most 8 files): every `*.json` under the given folders, by file name, plus
// three tables: our bus bandwidth next to torch.distributed's (same ranks, op and size), the
// killed-rank verdicts, and data-parallel tokens/s per GPU with the scaling efficiency over 1 GPU.
//   node .device/merge-multigpu.mjs --out $OUT --title '...' DIR...
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

type Json = Record<string, unknown>;
type BwRow = { op: string; ranks: number; 'size MiB': number; correct: boolean; 'busbw GB/s': number; 'time ms (median)': number };

const { values: o, positionals: dirs } = parseArgs({ options: { out: { type: 'string' }, title: { type: 'string', default: 'Multi-GPU run' } }, allowPositionals: true });
if (!o.out) throw new Error('--out DIR is required');
const files: Record<string, Json> = {};
for (const dir of dirs) {
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    try {
      files[f] = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Json;
    } catch (e) {
      files[f] = { unreadable: (e as Error).message };
    }
  }
}
const rowsOf = (prefix: string): BwRow[] => Object.entries(files).filter(([f]) => f.startsWith(prefix)).flatMap(([, j]) => (j.rows as BwRow[] | undefined) ?? []);
const ours = rowsOf('ours-');
const torch = rowsOf('torch-');
const key = (r: BwRow) => `${r.ranks} ${r.op} ${r['size MiB']}`;
const torchBy = new Map(torch.map((r) => [key(r), r]));
const f2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2));
const md: string[] = [`# ${o.title}`, '', `Files merged: ${Object.keys(files).join(', ') || 'none'}.`, '', '## Bus bandwidth (GB/s, nccl-tests convention; median of the timed samples, slowest rank)', ''];
md.push('| ranks | op | size MiB | ours busbw | torch busbw | ours / torch | ours ms | torch ms | correct (ours / torch) |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const oursBy = new Map(ours.map((r) => [key(r), r]));
const all = [...new Map([...torch, ...ours].map((r) => [key(r), r])).values()].sort((a, b) => a.ranks - b.ranks || a.op.localeCompare(b.op) || a['size MiB'] - b['size MiB']);
for (const r of all) {
  const u = oursBy.get(key(r));
  const t = torchBy.get(key(r));
  md.push(`| ${r.ranks} | ${r.op} | ${r['size MiB']} | ${f2(u?.['busbw GB/s'])} | ${f2(t?.['busbw GB/s'])} | ${u && t ? f2(u['busbw GB/s'] / t['busbw GB/s']) : '-'} | ${u ? u['time ms (median)'].toPrecision(4) : '-'} | ${t ? t['time ms (median)'].toPrecision(4) : '-'} | ${u ? u.correct : '-'} / ${t ? t.correct : '-'} |`);
}
md.push('', '## Killed rank', '');
for (const [f, j] of Object.entries(files).filter(([f]) => f.startsWith('killed-rank-'))) {
  md.push(`- ${f}: **${j.passed ? 'PASS' : 'FAIL'}**, ${j.ranks} ranks, rank ${j.victim} SIGKILLed; launcher: ${JSON.stringify(j.launcher)}; ${((j.problems as string[]) ?? []).join('; ')}`);
  for (const r of (j.reports as Json[]) ?? []) md.push(`  - rank ${r.rank} after ${r.afterMs} ms: ${r.message}`);
}
md.push('', '## Data-parallel training (tokens/s per GPU)', '', '| ranks | batch per rank × seqlen | step s | tokens/s | tokens/s per GPU | efficiency vs 1 GPU | peak GiB |', '| --- | --- | --- | --- | --- | --- | --- |');
const dp = Object.entries(files)
  .filter(([f]) => f.startsWith('dp-train-'))
  .map(([, j]) => j)
  .sort((a, b) => (a.ranks as number) - (b.ranks as number));
const one = dp.find((j) => j.ranks === 1);
for (const j of dp) {
  const eff = one ? (j.tokensPerSPerGpu as number) / (one.tokensPerSPerGpu as number) : undefined;
  md.push(`| ${j.ranks} | ${j.batchPerRank} × ${j.seqlen} | ${f2(j.stepS as number)} | ${(j.tokensPerS as number).toFixed(0)} | ${(j.tokensPerSPerGpu as number).toFixed(0)} | ${f2(eff)} | ${f2(j.peakGiB as number)} |`);
}
md.push('');
writeFileSync(join(o.out, 'multigpu.json'), JSON.stringify({ title: o.title, date: new Date().toISOString(), files }, null, 1) + '\n');
writeFileSync(join(o.out, 'multigpu.md'), md.join('\n'));
console.log(md.join('\n'));
