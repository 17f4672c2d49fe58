// The Fine-tune tab: train the tiny preset (fresh weights) or the Generate tab's model on the text
// in the page, N steps on the active backend, with a live loss plot, tokens/s and Stop; the
// trained model then becomes the Generate tab's model.
import { ByteTokenizer, FalconH1ForCausalLM, hybridConfig } from '@falcon/hybrid';
import { tf } from '@falcon/tensor';
import corpus from '../../../../packages/hybrid/data/corpus.txt?raw';
import { $, numberField, status, yieldToPage } from '../dom.js';
import { LossPlot } from '../plot.js';
import type { LoadedModel, Session } from '../session.js';
import { corpusTokens, FINETUNE, fineTune, TINY } from '../training.js';
import type { FineTuneOptions } from '../training.js';

/** The training options the form holds. @throws naming a bad field */
function readOptions(): FineTuneOptions {
  return {
    steps: numberField('ft-steps', 'steps', { min: 1, int: true }),
    batchSize: numberField('ft-batch', 'batch', { min: 1, int: true }),
    seqlen: numberField('ft-seqlen', 'sequence length', { min: 2, int: true }),
    lr: numberField('ft-lr', 'learning rate', { min: 0 }),
    seed: FINETUNE.seed,
  };
}

/** Wire the Fine-tune tab to the session. */
export function finetuneTab(session: Session): void {
  let stop = false;
  const start = $<HTMLButtonElement>('ft-start');
  const stopButton = $<HTMLButtonElement>('ft-stop');
  const plot = new LossPlot(document.getElementById('loss-plot') as unknown as SVGSVGElement);
  $<HTMLTextAreaElement>('ft-text').value = corpus;

  const run = async () => {
    const o = readOptions();
    const base = (document.querySelector('input[name=ft-base]:checked') as HTMLInputElement).value;
    await session.exclusive('training', async () => {
      const current = session.current;
      if (base === 'loaded' && !current) throw new Error('the Generate tab has no model loaded');
      const target: LoadedModel =
        base === 'loaded' ? current! : { model: new FalconH1ForCausalLM(hybridConfig(TINY, { source: "preset 'tiny'" }), FINETUNE.seed), tokenizer: new ByteTokenizer(), label: "'tiny' preset" };
      const fresh = target !== current;
      let steps = 0;
      try {
        const tokens = corpusTokens($<HTMLTextAreaElement>('ft-text').value, target.tokenizer, target.model, o);
        stop = false;
        start.disabled = true;
        stopButton.disabled = false;
        plot.reset();
        status('ft-status', `training ${target.label} on ${tokens.length} tokens…`);
        const t0 = performance.now();
        for await (const m of fineTune(target.model, tokens, o)) {
          steps = m.step;
          plot.push(m.loss);
          const secs = (performance.now() - t0) / 1000;
          $('ft-stats').textContent = `step ${m.step}/${o.steps}: loss ${m.loss.toFixed(4)}, lr ${m.lr.toExponential(2)}, grad norm ${m.gradNorm.toFixed(3)}, ${Math.round(m.tokensPerSec)} tokens/s (${secs.toFixed(1)} s) on ${tf.getBackend()}`;
          await yieldToPage();
          if (stop) break;
        }
      } catch (e) {
        if (fresh) target.model.dispose(); // (a loaded model keeps the steps it took)
        throw e;
      } finally {
        start.disabled = false;
        stopButton.disabled = true;
      }
      const label = `${target.label.replace(/ \(fine-tuned \d+ steps\)$/, '')} (fine-tuned ${steps} steps)`;
      session.set({ ...target, label });
      status('ft-status', `${stop ? 'stopped' : 'done'} after ${steps} steps: the Generate tab now uses ${label}`);
    });
  };

  start.addEventListener('click', () => {
    run().catch((e: Error) => status('ft-status', e.message, true));
  });
  stopButton.addEventListener('click', () => {
    stop = true;
  });
}
