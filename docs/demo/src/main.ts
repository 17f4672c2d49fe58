// The demo app: starts WebGPU (falling back to the CPU with a visible notice), wires the Generate
// and Fine-tune tabs (the bundled checkpoint loaded by default), and runs the backend check (the
// worked example kernel, rmsNorm, and a greedy generation). The e2e test reads #result once
// data-done is set, then drives the tabs.
import { initBackend } from '@falcon/tensor';
import { $ } from './dom.js';
import { GENERATION, runGeneration } from './generation.js';
import { Session } from './session.js';
import { finetuneTab } from './tabs/finetune.js';
import { generateTab } from './tabs/generate.js';
import { DEMO, runWorkedExample } from './worked_example.js';

/** Show one tab, hide the other. */
function tabs(): void {
  for (const name of ['generate', 'finetune']) {
    $(`tab-${name}`).addEventListener('click', () => {
      for (const other of ['generate', 'finetune']) {
        $(`tab-${other}`).setAttribute('aria-selected', String(other === name));
        $(other).hidden = other !== name;
      }
    });
  }
}

/** The backend check: the worked example kernel and the fixed greedy generation (what the e2e test compares with Node). */
async function backendCheck(): Promise<Record<string, unknown>> {
  const r = await runWorkedExample();
  $('what').textContent = `rmsNorm(x [${r.shape}], w [${DEMO.dim}], eps ${DEMO.eps.toExponential()}) with seed ${DEMO.seed}, then argmax per row`;
  $('tokens').textContent = r.tokens.join(' ');
  $('checksum').textContent = r.checksum.toFixed(6);
  $('first').textContent = r.values.slice(0, 6).map((v) => v.toFixed(6)).join('  ');
  $('timing').textContent = `${r.ms.toFixed(1)} ms on ${r.backend}`;
  $('prompt').textContent = GENERATION.prompt;
  const [config, weights] = await Promise.all([
    fetch('./model/config.json').then((x) => x.text()),
    fetch('./model/model.safetensors').then(async (x) => new Uint8Array(await x.arrayBuffer())),
  ]);
  const g = await runGeneration(config, weights);
  $('generated').textContent = g.text;
  $('gen-tokens').textContent = g.tokens.join(' ');
  $('gen-timing').textContent = `${g.ms.toFixed(0)} ms on ${g.backend} (load + ${GENERATION.maxNewTokens} tokens)`;
  return { ...r, generation: g };
}

async function main(): Promise<void> {
  const notice = $('notice');
  try {
    const { info } = await initBackend('webgpu');
    notice.className = 'ok';
    notice.textContent = `WebGPU on ${String(info?.adapter)}${info?.fallback ? ' (a software adapter)' : ''}`;
  } catch (e) {
    await initBackend('cpu');
    notice.className = 'warn';
    notice.textContent = `WebGPU is unavailable here (${(e as Error).message}); running on the CPU instead.`;
  }
  tabs();
  const session = new Session();
  finetuneTab(session);
  const loaded = generateTab(session);
  const check = await backendCheck();
  await loaded;
  const out = $('result');
  out.textContent = JSON.stringify(check);
  out.dataset.done = 'true';
}

main().catch((e: Error) => {
  const out = $('result');
  $('notice').className = 'warn';
  $('notice').textContent = `The demo failed: ${e.message}`;
  out.textContent = JSON.stringify({ error: e.message });
  out.dataset.done = 'true';
});
