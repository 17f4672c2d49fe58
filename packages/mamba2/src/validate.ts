/**
 * The argument checker of this package: `@falcon/tensor`'s {@link opCheck} worded as the package's
 * messages are (tensor inputs as `argument 'x'`, attributes and options bare: `chunkSize must be …`).
 * Every op validates ranks, dimensions, dtypes and attributes with it before any kernel runs.
 */
import { opCheck } from '@falcon/tensor';
import type { CheckStyle, OpCheck } from '@falcon/tensor';

/** The wording of this package's messages. @internal */
export const MAMBA2_CHECK_STYLE: CheckStyle = { bare: ['attribute', 'option'] };

/** The checker of one op or method of this package, e.g. `check('ssdChunkScan')`. @internal */
export function check(op: string): OpCheck {
  return opCheck(op, MAMBA2_CHECK_STYLE);
}
