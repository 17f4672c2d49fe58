// Stand-ins for the Node modules some @falcon files import (file reading and writing, the CLI, the
// process groups):
// the page never calls them; if something does, it says so instead of failing obscurely.
const unavailable = (name: string) => () => {
  throw new Error(`${name} is not available in the browser`);
};
export const readFile = unavailable('fs.readFile');
export const writeFile = unavailable('fs.writeFile');
export const appendFile = unavailable('fs.appendFile');
export const rename = unavailable('fs.rename');
export const stat = unavailable('fs.stat');
export const unlink = unavailable('fs.unlink');
export const readdir = unavailable('fs.readdir');
export const open = unavailable('fs.open');
export const mkdir = unavailable('fs.mkdir');
export const rm = unavailable('fs.rm');
export const link = unavailable('fs.link');
export const copyFile = unavailable('fs.copyFile');
export const statSync = unavailable('fs.statSync');
export const createReadStream = unavailable('fs.createReadStream');
export const createHash = unavailable('crypto.createHash');
export const existsSync = () => false;
export const join = (...parts: string[]) => parts.join('/').replace(/\/+/g, '/');
export const basename = (p: string) => p.split('/').pop() ?? p;
export const dirname = (p: string) => p.split('/').slice(0, -1).join('/') || '.';
export const extname = (p: string) => /\.[^./]*$/.exec(p)?.[0] ?? '';
export const resolve = (...parts: string[]) => join(...parts);
export const fileURLToPath = (u: string | URL) => new URL(u).pathname;
export const randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n));
export const constants = { MAX_LENGTH: 2 ** 32, signals: {} as Record<string, number> };
export const parseArgs = unavailable('util.parseArgs');
export const createRequire = unavailable('module.createRequire');
// @falcon/parallel's process groups and launcher (node:net, node:os, node:child_process, node:worker_threads)
export const createServer = unavailable('net.createServer');
export const Socket = unavailable('net.Socket');
export const spawn = unavailable('child_process.spawn');
export const Worker = unavailable('worker_threads.Worker');
export const hostname = () => 'localhost';
export const networkInterfaces = () => ({});
export default {};
