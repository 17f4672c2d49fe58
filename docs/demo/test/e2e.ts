// End-to-end test of the demo page, run by CI (`npm run demo:e2e`): builds the page with Vite,
// runs the same computation in Node on webgpu (Dawn), serves the build on 127.0.0.1, drives it in
// headless Chromium (WebGPU on SwiftShader, /usr/bin/chromium, no downloaded browser), checks the
// page ran on WebGPU and that its result equals the Node run's, and saves docs/demo/screenshot.png.
// Then drives the app (test/app_driver.ts): streams a greedy generation of a typed prompt (tokens
// equal to Node's), stops a longer one mid-way, fine-tunes the tiny preset a few steps (the plot's
// losses match a Node run of the same steps) and saves screenshot-generate.png and
// screenshot-finetune.png. Then opens the page in a Chromium without WebGPU and checks the CPU fallback and its notice
// (screenshot-cpu-fallback.png). Exits non-zero on any difference. CHROMIUM: default /usr/bin/chromium.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { ByteTokenizer, FalconH1ForCausalLM, generateStream, hybridConfig } from '@falcon/hybrid';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import type { GenerationResult } from '../src/generation.js';
import { loadModel, runGeneration } from '../src/generation.js';
import { corpusTokens, FINETUNE, fineTune, TINY } from '../src/training.js';
import type { AppResult } from './app_driver.js';
import { APP_RUN, driveApp } from './app_driver.js';
import type { DemoResult } from '../src/worked_example.js';
import { runWorkedExample } from '../src/worked_example.js';

const demoDir = fileURLToPath(new URL('..', import.meta.url));
const distDir = join(demoDir, 'dist');
const screenshot = join(demoDir, 'screenshot.png');
const fallbackScreenshot = join(demoDir, 'screenshot-cpu-fallback.png');
const appShots = { generate: join(demoDir, 'screenshot-generate.png'), finetune: join(demoDir, 'screenshot-finetune.png') };

/** Chromium flags for WebGPU on SwiftShader in headless mode (the profile is a fresh temporary one). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

// Values: the same WGSL on the same SwiftShader in both runs, but Chromium's Dawn and the `webgpu`
// package's Dawn may compile it differently; 1e-5 relative is ≈ 100 ulp. Tokens must be equal.
const RTOL = 1e-5;
// Fine-tuning losses, page (webgpu) vs Node (cpu), float32 both: the first step's loss differs only
// by summation order (~1e-6 relative); AdamW's normalised updates (≈ lr·sign(g) for the first steps)
// carry the gradients' rounding into the weights, so over APP_RUN.trainSteps steps the losses may
// drift apart by far less than 1e-3 relative (the loss itself falls by ~1e-1 per step).
const LOSS_RTOL = 1e-3;

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

/** Serve `dir` on 127.0.0.1 (a free port) and return its URL and a close function. */
async function serve(dir: string): Promise<{ url: string; close: () => void }> {
  const server = http.createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    try {
      const body = await readFile(join(dir, path.endsWith('/') ? `${path}index.html` : path));
      res.writeHead(200, { 'content-type': MIME[extname(path) || '.html'] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

/** Chromium without WebGPU: no adapter, so the page must fall back to the CPU and say so. */
const NO_WEBGPU_ARGS = ['--no-sandbox', '--disable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

type PageResult = DemoResult & { notice: string; noticeClass: string; generation: GenerationResult; app?: AppResult };

async function inBrowser(url: string, args: string[], shot: string, drive = false): Promise<PageResult> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 560 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // the app asks for tokenizer.json and tokenizer_config.json, optional files the bundled model lacks
      const optional = /\/tokenizer(_config)?\.json$/.test(m.location().url) && /status of 404/.test(m.text());
      if (m.type() === 'error' && !optional) errors.push(m.text());
    });
    await page.goto(url);
    await page.waitForSelector('#result[data-done]', { state: 'attached', timeout: 300_000 });
    const result = JSON.parse((await page.textContent('#result')) ?? '{}');
    const notice = (await page.textContent('#notice')) ?? '';
    const noticeClass = (await page.getAttribute('#notice', 'class')) ?? '';
    await page.screenshot({ path: shot, fullPage: true });
    if (errors.length) throw new Error(`the page reported errors:\n${errors.join('\n')}`);
    if (result.error) throw new Error(`the demo failed in the browser: ${result.error}`);
    const app = drive ? await driveApp(page, appShots, join(demoDir, 'public/model')) : undefined;
    if (errors.length) throw new Error(`the page reported errors:\n${errors.join('\n')}`);
    return { ...result, notice, noticeClass, app };
  } finally {
    await browser.close();
  }
}

function compare(page: DemoResult, node: DemoResult, backend: string): string[] {
  const problems: string[] = [];
  if (page.backend !== backend) problems.push(`the page ran on '${page.backend}', not ${backend}`);
  if (node.backend !== 'webgpu') problems.push(`the Node run ran on '${node.backend}', not webgpu`);
  if (JSON.stringify(page.shape) !== JSON.stringify(node.shape)) problems.push(`shapes differ: [${page.shape}] vs [${node.shape}]`);
  if (JSON.stringify(page.tokens) !== JSON.stringify(node.tokens)) problems.push(`tokens differ: ${page.tokens} vs ${node.tokens}`);
  let worst = 0;
  for (let i = 0; i < node.values.length; i++) {
    worst = Math.max(worst, Math.abs(page.values[i] - node.values[i]) / Math.max(1, Math.abs(node.values[i])));
  }
  if (!(worst <= RTOL) || page.values.length !== node.values.length) problems.push(`values differ: worst relative difference ${worst} > ${RTOL}`);
  console.log(`demo e2e: worst relative difference page (${backend}) vs Node ${worst.toExponential(2)}`);
  return problems;
}

/** The Node reference of the app run (cpu): greedy tokens of APP_RUN.prompt, and the losses of APP_RUN.trainSteps fine-tuning steps of the tiny preset on the bundled corpus. */
async function nodeApp(configText: string, weights: Uint8Array): Promise<{ streamed: number[]; losses: number[] }> {
  const model = await loadModel(configText, weights);
  const prompt = new ByteTokenizer().encode(APP_RUN.prompt);
  const ids = tf.tensor2d([prompt], [1, prompt.length], 'int32') as Tensor2D;
  const streamed: number[] = [];
  for await (const [id] of generateStream(model, ids, { maxNewTokens: APP_RUN.maxNewTokens })) streamed.push(id);
  tf.dispose(ids);
  model.dispose();
  const tiny = new FalconH1ForCausalLM(hybridConfig(TINY), FINETUNE.seed);
  const o = { ...FINETUNE, steps: APP_RUN.trainSteps };
  const corpus = await readFile(join(demoDir, '../../packages/hybrid/data/corpus.txt'), 'utf8');
  const losses: number[] = [];
  for await (const m of fineTune(tiny, corpusTokens(corpus, new ByteTokenizer(), tiny, o), o)) losses.push(m.loss);
  tiny.dispose();
  return { streamed, losses };
}

/** What is wrong with the app run in the page, compared with the Node reference. */
function checkApp(app: AppResult, node: { streamed: number[]; losses: number[] }): string[] {
  const problems: string[] = [];
  if (!/^done/.test(app.generateStatus)) problems.push(`Generate did not finish: '${app.generateStatus}'`);
  if (JSON.stringify(app.streamed) !== JSON.stringify(node.streamed)) problems.push(`streamed tokens differ from the Node run: ${app.streamed} vs ${node.streamed}`);
  // one update per token at least for most of them (a multi-byte character waits for its last byte)
  if (app.outputUpdates < APP_RUN.maxNewTokens / 2) problems.push(`the output changed ${app.outputUpdates} times for ${app.streamed.length} tokens: not streamed`);
  if (!/^stopped/.test(app.stopStatus) || app.stoppedAt >= APP_RUN.stopRunTokens || app.stoppedAt < APP_RUN.stopAfter) problems.push(`Stop did not stop the run mid-way: ${app.stoppedAt} tokens, status '${app.stopStatus}'`);
  if (app.stoppedLater !== app.stoppedAt) problems.push(`tokens kept coming after Stop: ${app.stoppedAt} then ${app.stoppedLater}`);
  if (!new RegExp(`^done after ${APP_RUN.trainSteps} steps`).test(app.finetuneStatus)) problems.push(`Fine-tune did not finish: '${app.finetuneStatus}'`);
  if (app.losses.length !== APP_RUN.trainSteps || app.plotPoints !== APP_RUN.trainSteps) problems.push(`the plot has ${app.plotPoints} points and ${app.losses.length} losses, not ${APP_RUN.trainSteps}`);
  const worst = Math.max(...node.losses.map((l, i) => Math.abs(app.losses[i] - l) / Math.abs(l)));
  if (!app.losses.every(Number.isFinite) || !(worst <= LOSS_RTOL)) problems.push(`losses differ from the Node run: ${app.losses} vs ${node.losses} (worst relative ${worst} > ${LOSS_RTOL})`);
  console.log(`demo e2e: fine-tune losses page ${app.losses.map((l) => l.toFixed(5)).join(' ')}, Node ${node.losses.map((l) => l.toFixed(5)).join(' ')}: worst relative difference ${worst.toExponential(2)}`);
  if (!/fine-tuned \d+ steps/.test(app.modelAfter) || app.afterTokens.length !== APP_RUN.afterTokens) problems.push(`the Generate tab did not generate with the fine-tuned model ('${app.modelAfter}', ${app.afterTokens.length} tokens)`);
  if (!/^model\/ \(from disk\)/.test(app.folderModel) || JSON.stringify(app.folderTokens) !== JSON.stringify(node.streamed.slice(0, APP_RUN.folderTokens))) {
    problems.push(`the checkpoint picked as a folder ('${app.folderModel}') generated ${app.folderTokens}, not ${node.streamed.slice(0, APP_RUN.folderTokens)}`);
  }
  return problems;
}

async function main(): Promise<number> {
  await build({ configFile: join(demoDir, 'vite.config.ts') });
  const status = await initBackend('webgpu');
  const node = await runWorkedExample();
  console.log(`demo e2e: Node on ${String(status.info?.adapter)}: tokens ${node.tokens.join(' ')}, checksum ${node.checksum.toFixed(6)}`);
  const server = await serve(distDir);
  // Falcon-H1 generation in Node on the cpu backend (the hybrid model reads results synchronously,
  // which WebGPU in Node cannot do; in the browser it can).
  await initBackend('cpu');
  const configText = await readFile(join(demoDir, 'public/model/config.json'), 'utf8');
  const weights = new Uint8Array(await readFile(join(demoDir, 'public/model/model.safetensors')));
  const gen = await runGeneration(configText, weights);
  console.log(`demo e2e: Node generation on cpu: ${JSON.stringify(gen.text)}`);
  const nodeRun = await nodeApp(configText, weights);
  let page: PageResult;
  let fallback: PageResult;
  try {
    page = await inBrowser(server.url, CHROMIUM_ARGS, screenshot, true);
    fallback = await inBrowser(server.url, NO_WEBGPU_ARGS, fallbackScreenshot);
  } finally {
    server.close();
  }
  console.log(`demo e2e: page (${page.notice}): tokens ${page.tokens.join(' ')}, checksum ${page.checksum.toFixed(6)}`);
  console.log(`demo e2e: screenshots saved to ${screenshot}, ${appShots.generate}, ${appShots.finetune} and ${fallbackScreenshot}`);
  const problems = compare(page, node, 'webgpu');
  problems.push(...checkApp(page.app!, nodeRun));
  console.log(`demo e2e: page generation on ${page.generation.backend}: ${JSON.stringify(page.generation.text)} (${page.generation.ms.toFixed(0)} ms)`);
  for (const [what, r] of [['page (webgpu)', page], ['without WebGPU', fallback]] as const) {
    if (JSON.stringify(r.generation.tokens) !== JSON.stringify(gen.tokens)) problems.push(`${what}: generated tokens differ from the Node run: ${r.generation.tokens} vs ${gen.tokens}`);
  }
  // The CPU fallback sums in another order than WebGPU: its values agree to rounding (RTOL), its tokens exactly.
  problems.push(...compare(fallback, node, 'cpu').map((p) => `without WebGPU: ${p}`));
  if (fallback.noticeClass !== 'warn' || !/WebGPU is unavailable here .*running on the CPU instead/.test(fallback.notice)) {
    problems.push(`without WebGPU the page shows no fallback notice (got '${fallback.notice}')`);
  }
  for (const p of problems) console.error(`demo e2e FAILED: ${p}`);
  if (!problems.length) console.log('demo e2e: the page result equals the Node run, and without WebGPU the page falls back to the CPU with a notice');
  return problems.length ? 1 : 0;
}

// Dawn keeps Node alive while navigator.gpu exists: exit explicitly.
main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`demo e2e FAILED: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
