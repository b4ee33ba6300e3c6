#!/usr/bin/env node
/* global process */
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2));
