// Stand-ins for the Node modules some @falcon files import (file reading and writing, the CLI):
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
export const existsSync = () => false;
export const join = (...parts: string[]) => parts.join('/').replace(/\/+/g, '/');
export const basename = (p: string) => p.split('/').pop() ?? p;
export const dirname = (p: string) => p.split('/').slice(0, -1).join('/') || '.';
export const fileURLToPath = (u: string | URL) => new URL(u).pathname;
export const randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n));
export const constants = { MAX_LENGTH: 2 ** 32 };
export const parseArgs = unavailable('util.parseArgs');
export const createRequire = unavailable('module.createRequire');
export default {};
