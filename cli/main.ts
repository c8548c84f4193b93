import { Command } from 'commander';
import { commands } from './commands.ts';

const program = new Command('sdfleet')
  .description('A fleet of warm Stable Diffusion WebUI instances, one per user, on Agones.')
  .showHelpAfterError('(run with --help for usage)')
  .enablePositionalOptions();

for (const make of commands) program.addCommand(make());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Errors reaching here are the user's to fix (bad flags, bad files): no stack trace.
  process.stderr.write(`sdfleet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = process.exitCode || 2;
}
