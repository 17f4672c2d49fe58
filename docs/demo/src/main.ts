// The demo page: starts WebGPU (falling back to the CPU with a visible notice), runs the worked
// example kernel (rmsNorm) and shows its result. The e2e test reads #result once data-done is set.
import { initBackend } from '@falcon/tensor';
import { GENERATION, runGeneration } from './generation.js';
import { DEMO, runWorkedExample } from './worked_example.js';

const $ = (id: string) => document.getElementById(id)!;

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
  const out = $('result');
  out.textContent = JSON.stringify({ ...r, generation: g });
  out.dataset.done = 'true';
}

main().catch((e: Error) => {
  const out = $('result');
  $('notice').className = 'warn';
  $('notice').textContent = `The demo failed: ${e.message}`;
  out.textContent = JSON.stringify({ error: e.message });
  out.dataset.done = 'true';
});
