#!/usr/bin/env node
/**
 * The `falcon` command line: dispatches to one module per command under `cli/`.
 * Bad arguments give one clear line on stderr and exit code 2; failures exit 1; never a stack trace
 * (set FALCON_DEBUG=1 to see one).
 */
import { tf } from '@falcon/tensor';
import { main } from './cli/main.js';

// tfjs's notes for developers ("install tfjs-node", ...) are not for CLI users.
tf.env().set('PROD', true);

process.exitCode = await main(process.argv.slice(2));
