import { createReadStream, existsSync, statSync, watch } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { logFileOf } from '../fleet/control-plane/runner/process-runner.ts';
import { intOption } from './run.ts';

/** `sdfleet logs <gameserver>`: the output of a GameServer's processes on one machine. */
export function logsCommand(): Command {
  return new Command('logs')
    .description("Print a GameServer's process output (embedded control plane; on GKE use kubectl logs)")
    .argument('<gameserver>', 'GameServer name')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--data-dir <dir>', "the control plane's data dir", '.sdfleet')
    .option('-f, --follow', 'keep printing what it writes')
    .option('--tail <lines>', 'only the last lines', intOption('--tail', 0))
    .action(async (name: string, f: { namespace: string; dataDir: string; follow?: boolean; tail?: number }) => {
      const file = logFileOf(join(resolve(f.dataDir), 'logs'), f.namespace, name);
      if (!existsSync(file)) {
        throw new Error(`no log for GameServer ${f.namespace}/${name} at ${file}: is the name right (kubectl get gs), and --data-dir the control plane's?`);
      }
      let pos = 0;
      if (f.tail !== undefined) {
        const text = await (await open(file)).readFile('utf8');
        const lines = text.split('\n');
        if (lines.at(-1) === '') lines.pop();
        process.stdout.write(lines.slice(-f.tail).join('\n') + (lines.length ? '\n' : ''));
        pos = Buffer.byteLength(text);
      } else {
        await new Promise<void>((res, rej) => createReadStream(file).on('end', res).on('error', rej).pipe(process.stdout, { end: false }));
        pos = statSync(file).size;
      }
      if (!f.follow) return;
      let reading = false;
      const more = (): void => {
        if (reading) return;
        const size = statSync(file).size;
        if (size < pos) pos = 0;
        if (size === pos) return;
        reading = true;
        createReadStream(file, { start: pos, end: size - 1 })
          .on('end', () => {
            pos = size;
            reading = false;
            more();
          })
          .pipe(process.stdout, { end: false });
      };
      watch(file, more);
      await new Promise(() => undefined);
    });
}
