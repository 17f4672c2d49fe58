// The Generate tab: load a checkpoint (a folder on disk or a URL base), then stream a generation
// of the prompt token by token (greedy or sampled) with tokens/s, until max tokens, EOS or Stop.
import { generateStream, HFTokenizer, IncrementalDecoder } from '@falcon/hybrid';
import type { GenerateOptions } from '@falcon/hybrid';
import { tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { fromFolder, fromUrl, loadCheckpoint } from '../checkpoint_source.js';
import type { CheckpointFiles } from '../checkpoint_source.js';
import { $, numberField, status, yieldToPage } from '../dom.js';
import type { Session } from '../session.js';

/** The sampling options the form holds. @throws naming a bad field */
function readOptions(): GenerateOptions {
  const maxNewTokens = numberField('gen-max', 'max new tokens', { min: 1, int: true });
  const seed = numberField('gen-seed', 'seed', { min: 0, int: true });
  if ($<HTMLSelectElement>('gen-mode').value === 'greedy') return { maxNewTokens, seed };
  return {
    maxNewTokens,
    seed,
    doSample: true,
    temperature: numberField('gen-temperature', 'temperature', { min: 1e-6 }),
    topK: numberField('gen-top-k', 'top-k', { min: 0, int: true }),
    topP: numberField('gen-top-p', 'top-p', { min: 1e-6, max: 1 }),
  };
}

/** Wire the Generate tab to the session; loads the bundled checkpoint (`./model/`). */
export function generateTab(session: Session): Promise<void> {
  let stop = false;
  const start = $<HTMLButtonElement>('gen-start');
  const stopButton = $<HTMLButtonElement>('gen-stop');
  const output = $('gen-output');
  session.onChange((m) => {
    $('gen-model').textContent = `${m.label}: ${m.model.config.base.num_hidden_layers} layers, d_model ${m.model.config.base.hidden_size}, vocab ${m.model.config.base.vocab_size}, ${m.tokenizer instanceof HFTokenizer ? 'tokenizer.json' : 'byte tokens'}`;
  });

  const load = async (read: () => Promise<CheckpointFiles>) => {
    try {
      await session.exclusive('loading', async () => {
        status('gen-status', 'loading the checkpoint…');
        session.set(await loadCheckpoint(await read()));
        status('gen-status', 'checkpoint loaded');
      });
    } catch (e) {
      status('gen-status', (e as Error).message, true);
    }
  };

  const run = async () => {
    const m = session.current;
    if (!m) return status('gen-status', 'no model loaded yet', true);
    const o = readOptions();
    await session.exclusive('generating', async () => {
      stop = false;
      start.disabled = true;
      stopButton.disabled = false;
      const prompt = m.tokenizer.encode($<HTMLTextAreaElement>('gen-prompt').value);
      if (!prompt.length) throw new Error('the prompt is empty');
      const promptSpan = document.createElement('span');
      promptSpan.className = 'prompt';
      promptSpan.textContent = m.tokenizer.decode(prompt);
      output.replaceChildren(promptSpan);
      output.dataset.ids = '[]';
      const decoder = new IncrementalDecoder(m.tokenizer);
      const ids: number[] = [];
      const ids2d = tf.tensor2d([prompt], [1, prompt.length], 'int32') as Tensor2D;
      const t0 = performance.now();
      let tFirst = 0;
      status('gen-status', 'generating…');
      try {
        for await (const [id] of generateStream(m.model, ids2d, o)) {
          if (!ids.length) tFirst = performance.now();
          ids.push(id);
          const piece = decoder.push(id);
          if (piece) output.append(piece);
          output.dataset.ids = JSON.stringify(ids);
          const secs = (performance.now() - t0) / 1000;
          const decode = ids.length > 1 ? ((ids.length - 1) * 1000) / (performance.now() - tFirst) : 0;
          $('gen-stats').textContent = `${ids.length} tokens in ${secs.toFixed(2)} s: ${(ids.length / secs).toFixed(1)} tokens/s (decode ${decode.toFixed(1)} tokens/s, prompt ${prompt.length} tokens, first token after ${(tFirst - t0).toFixed(0)} ms) on ${tf.getBackend()}`;
          await yieldToPage();
          if (stop) break;
        }
        output.append(decoder.flush());
        status('gen-status', stop ? `stopped after ${ids.length} tokens` : `done: ${ids.length} tokens`);
      } finally {
        ids2d.dispose();
        start.disabled = false;
        stopButton.disabled = true;
      }
    });
  };

  start.addEventListener('click', () => {
    run().catch((e: Error) => status('gen-status', e.message, true));
  });
  stopButton.addEventListener('click', () => {
    stop = true;
  });
  $<HTMLInputElement>('gen-folder').addEventListener('change', (ev) => {
    const files = (ev.target as HTMLInputElement).files;
    if (files?.length) void load(() => fromFolder(files));
  });
  $('gen-load-url').addEventListener('click', () => void load(() => fromUrl($<HTMLInputElement>('gen-url').value)));
  return load(() => fromUrl($<HTMLInputElement>('gen-url').value));
}
