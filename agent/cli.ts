#!/usr/bin/env node
import { main } from './program.js';

// `avcare-agent probe | head`: a reader that stops early is not an error to print a stack for.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

await main();
