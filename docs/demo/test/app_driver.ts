// The e2e test's part that drives the app in the page (Playwright): the Generate tab (type a prompt,
// generate greedily and watch the tokens stream, then Stop a longer run mid-way) and the Fine-tune
// tab (train a few steps, the loss plot grows), with a screenshot of each tab; then the checkpoint
// is picked again as a folder on disk.
import type { Page } from 'playwright-core';

/** The prompt and sizes the e2e test uses. */
export const APP_RUN = { prompt: 'The old fisherman said', maxNewTokens: 16, stopRunTokens: 400, stopAfter: 4, trainSteps: 5, afterTokens: 4, folderTokens: 4 } as const;

/** What the app did in the page. */
export interface AppResult {
  /** Greedy tokens of APP_RUN.prompt. */
  streamed: number[];
  /** How many times #gen-output changed while they streamed. */
  outputUpdates: number;
  /** The status line after the run. */
  generateStatus: string;
  /** Tokens shown when Stop took effect, and a second later. */
  stoppedAt: number;
  stoppedLater: number;
  stopStatus: string;
  /** The losses of the loss plot and its polyline's point count. */
  losses: number[];
  plotPoints: number;
  finetuneStatus: string;
  /** The Generate tab's model label after fine-tuning, and what it generated then. */
  modelAfter: string;
  afterTokens: number[];
  /** The model label after picking public/model as a folder on disk, and its first greedy tokens. */
  folderModel: string;
  folderTokens: number[];
}

const ids = async (page: Page) => JSON.parse((await page.getAttribute('#gen-output', 'data-ids')) ?? '[]') as number[];

/** Click Generate and wait until the status line leaves 'generating…'. */
async function generate(page: Page, maxNewTokens: number, timeout: number): Promise<string> {
  await page.fill('#gen-max', String(maxNewTokens));
  await page.selectOption('#gen-mode', 'greedy');
  await page.click('#gen-start');
  await page.waitForFunction(() => !/^generating/.test(document.getElementById('gen-status')!.textContent ?? ''), undefined, { timeout, polling: 50 });
  return (await page.textContent('#gen-status')) ?? '';
}

/**
 * Drive both tabs of the app (already started, its backend check done).
 * @param shots - screenshot paths of the Generate and the Fine-tune tab
 */
export async function driveApp(page: Page, shots: { generate: string; finetune: string }, folder: string): Promise<AppResult> {
  await page.fill('#gen-prompt', APP_RUN.prompt);
  // count the output's DOM updates while the tokens stream
  await page.evaluate(() => {
    const w = window as unknown as { updates: number };
    w.updates = 0;
    new MutationObserver((records) => (w.updates += records.length)).observe(document.getElementById('gen-output')!, { childList: true, characterData: true, subtree: true });
  });
  const generateStatus = await generate(page, APP_RUN.maxNewTokens, 120_000);
  const streamed = await ids(page);
  const outputUpdates = await page.evaluate(() => (window as unknown as { updates: number }).updates);

  // a longer run, stopped once a few tokens are out
  await page.fill('#gen-max', String(APP_RUN.stopRunTokens));
  await page.click('#gen-start');
  await page.waitForFunction((n) => JSON.parse(document.getElementById('gen-output')!.dataset.ids ?? '[]').length >= n, APP_RUN.stopAfter, { timeout: 120_000, polling: 20 });
  await page.click('#gen-stop');
  await page.waitForFunction(() => /^stopped/.test(document.getElementById('gen-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
  const stopStatus = (await page.textContent('#gen-status')) ?? '';
  const stoppedAt = (await ids(page)).length;
  await page.waitForTimeout(1000);
  const stoppedLater = (await ids(page)).length;
  await page.screenshot({ path: shots.generate, fullPage: true });

  await page.click('#tab-finetune');
  await page.fill('#ft-steps', String(APP_RUN.trainSteps));
  await page.click('#ft-start');
  await page.waitForFunction(() => !/^training/.test(document.getElementById('ft-status')!.textContent ?? ''), undefined, { timeout: 240_000, polling: 100 });
  const finetuneStatus = (await page.textContent('#ft-status')) ?? '';
  const losses = JSON.parse((await page.getAttribute('#loss-plot', 'data-losses')) ?? '[]') as number[];
  const points = (await page.getAttribute('#loss-plot polyline', 'points')) ?? '';
  await page.screenshot({ path: shots.finetune, fullPage: true });

  // the Generate tab now uses the fine-tuned model
  await page.click('#tab-generate');
  const modelAfter = (await page.textContent('#gen-model')) ?? '';
  await generate(page, APP_RUN.afterTokens, 60_000);
  const afterTokens = await ids(page);

  // the checkpoint folder picked on disk (<input webkitdirectory>)
  await page.setInputFiles('#gen-folder', folder);
  await page.waitForFunction(() => /from disk/.test(document.getElementById('gen-model')!.textContent ?? ''), undefined, { timeout: 60_000 });
  const folderModel = (await page.textContent('#gen-model')) ?? '';
  await generate(page, APP_RUN.folderTokens, 60_000);
  return {
    folderModel,
    folderTokens: await ids(page), streamed, outputUpdates, generateStatus, stoppedAt, stoppedLater, stopStatus, losses, plotPoints: points.trim() ? points.trim().split(/\s+/).length : 0, finetuneStatus, modelAfter, afterTokens };
}
