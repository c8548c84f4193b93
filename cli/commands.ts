import type { Command } from 'commander';
import { sdkServerCommand } from './sdk-server.ts';
import { simWebuiCommand } from './sim-webui.ts';
import { wrapperCommand } from './wrapper.ts';
import { benchCommand } from './bench.ts';
import { upCommand } from './up.ts';
import { controlPlaneCommand } from './control-plane.ts';
import { logsCommand } from './logs.ts';
import { allocatorCommand } from './allocator.ts';
import { autoscalerCommand } from './autoscaler.ts';
import { libDiskCommand } from './lib-disk.ts';

/** Every sdfleet sub-command, in the order `sdfleet --help` lists them. */
export const commands: (() => Command)[] = [upCommand, controlPlaneCommand, allocatorCommand, autoscalerCommand, sdkServerCommand, wrapperCommand, libDiskCommand, simWebuiCommand, logsCommand, benchCommand];
