#!/usr/bin/env node
// Entry point for the `latentstage` command: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
const code = await main(process.argv.slice(2));
if (code !== 0) process.exit(code);
