// What the two tabs share: the model the Generate tab uses (loaded, or fine-tuned in the page) and
// a lock, so that generating and training never run at once on the same weights.
import type { FalconH1ForCausalLM, Tokenizer } from '@falcon/hybrid';

/** A model ready to use, with its tokenizer. */
export interface LoadedModel {
  /** The model (its weights on the active backend). */
  model: FalconH1ForCausalLM;
  /** Its tokenizer: tokenizer.json when the checkpoint has one, else byte tokens. */
  tokenizer: Tokenizer;
  /** What it is, for the page (e.g. `model/ (bundled)`, `tiny fine-tuned 5 steps`). */
  label: string;
}

/** The page's current model and what is running on it. */
export class Session {
  private loaded: LoadedModel | undefined;
  private readonly listeners: ((m: LoadedModel) => void)[] = [];
  /** What runs now (`'generating'`, `'training'`), or undefined. */
  busy: string | undefined;

  /** The current model, if one is loaded. */
  get current(): LoadedModel | undefined {
    return this.loaded;
  }

  /** Make `m` the current model (the previous one is disposed unless it is the same model) and tell the tabs. */
  set(m: LoadedModel): void {
    if (this.loaded && this.loaded.model !== m.model) this.loaded.model.dispose();
    this.loaded = m;
    for (const f of this.listeners) f(m);
  }

  /** Call `f` whenever the current model changes. */
  onChange(f: (m: LoadedModel) => void): void {
    this.listeners.push(f);
  }

  /**
   * Run `task` holding the lock.
   * @throws when something else runs (naming it)
   */
  async exclusive<T>(what: string, task: () => Promise<T>): Promise<T> {
    if (this.busy) throw new Error(`wait until ${this.busy} has finished (or press Stop)`);
    this.busy = what;
    try {
      return await task();
    } finally {
      this.busy = undefined;
    }
  }
}
