import type { Command } from 'commander';
import { sdkServerCommand } from './sdk-server.ts';

/** Every sdfleet sub-command, in the order `sdfleet --help` lists them. */
export const commands: (() => Command)[] = [sdkServerCommand];
