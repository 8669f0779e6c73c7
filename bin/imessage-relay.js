#!/usr/bin/env node
// Entry point for `npx imessage-relay`: runs the compiled CLI (built by `npm run build` / `prepare`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
