/** `falcon info`: the `@falcon` packages with their versions, and every backend with why it is (un)available. */
import { VERSION as attention } from '@falcon/attention';
import { VERSION as bitnet } from '@falcon/bitnet';
import { VERSION as checkpoint } from '@falcon/checkpoint';
import { VERSION as mamba2 } from '@falcon/mamba2';
import { VERSION as parallel } from '@falcon/parallel';
import { availableBackends, VERSION as tensor } from '@falcon/tensor';
import { VERSION as hybrid } from '../version.js';
import type { Command } from './command.js';
import { parseOptions } from './command.js';

/** The `falcon info` command. */
export const infoCommand: Command = {
  summary: 'show the @falcon packages, their versions and the available backends',
  help: [
    'Usage: falcon info [--json]',
    '',
    'Shows every @falcon package with its version, and each backend (cpu, webgpu, cuda):',
    'whether it can run on this machine, what was found, or why it is unavailable.',
    '',
    'Options:',
    '  --json   print one JSON object instead of text',
    '  --help   show this help',
  ].join('\n'),
  async run(argv, out) {
    const opts = parseOptions(argv, { json: { type: 'boolean' } });
    const packages = { tensor, mamba2, attention, bitnet, parallel, checkpoint, hybrid };
    const backends = await availableBackends();
    if (opts.json) {
      out(JSON.stringify({ node: process.version, packages: Object.fromEntries(Object.entries(packages).map(([k, v]) => [`@falcon/${k}`, v])), backends }, null, 2));
      return 0;
    }
    out(`@falcon on Node ${process.version} (${process.platform}-${process.arch})`);
    out('');
    out('Packages:');
    for (const [k, v] of Object.entries(packages)) out(`  @falcon/${k.padEnd(11)} ${v}`);
    out('');
    out('Backends:');
    for (const b of backends) {
      const detail = b.available
        ? Object.entries(b.info ?? {})
            .filter(([, v]) => v !== undefined && v !== '')
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')
        : b.reason;
      out(`  ${b.name.padEnd(7)} ${b.available ? 'available  ' : 'unavailable'}  ${detail ?? ''}`);
    }
    return 0;
  },
};
