import { fileURLToPath } from 'node:url';

/** This checkout's CLI entry point. */
export const SDFLEET_BIN = fileURLToPath(new URL('../bin/sdfleet.js', import.meta.url));

/**
 * argv with a leading `sdfleet` turned into this Node and this checkout's CLI, so commands
 * in manifests (`sdfleet sim-webui …`) run the same code as their parent without a global
 * install.
 */
export function resolveSelf(argv: string[]): string[] {
  if (argv[0] === 'sdfleet') return [process.execPath, SDFLEET_BIN, ...argv.slice(1)];
  return argv;
}
