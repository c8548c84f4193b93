#!/usr/bin/env node
// The sdfleet CLI runs the TypeScript sources directly through tsx, so a checkout works
// right after `npm ci` with no build step, and a child process started as `sdfleet …`
// always runs the same code as its parent.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
