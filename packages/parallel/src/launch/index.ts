/** The torchrun-style launcher: `launch()`, its command-line parser and the worker environment. */
export { launch, describeExit } from './launch.js';
export type { LaunchOptions, LaunchResult, WorkerExit } from './launch.js';
export { parseLaunchArgs, LaunchArgsError, LAUNCH_OPTIONS_HELP } from './args.js';
export { workerEnv } from './worker_env.js';
export type { WorkerPlace } from './worker_env.js';
export { freePort } from './free_port.js';
