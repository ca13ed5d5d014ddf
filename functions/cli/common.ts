/**
 * What every `cclake` command module shares: the exit-code errors, the output sink, the global
 * options (--config, --lake) and loading the config from them. main.ts builds the program and the
 * command modules (export.ts, doctor.ts, demo.ts, output.ts) take these from here, not from main,
 * so no command module imports the program that imports it.
 */
import { Option, type Command } from 'commander';
import type { LoadedConfig } from '../lib/config/load';

/** Bad usage: exit 2. */
export class UsageError extends Error {}
/** A job that ran and failed: exit 1. */
export class JobError extends Error {}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Where progress of long work is drawn (functions/cli/progress.ts); none when absent. */
  progress?: { isTTY: boolean; write(text: string): void };
}

export interface GlobalOpts {
  config?: string;
  lake?: string;
}

/** The config (its schema and YAML parser load here, not at start-up: `cclake --help` stays fast). */
export async function load(opts: GlobalOpts): Promise<LoadedConfig> {
  return (await import('../lib/config/load')).loadConfig({ configFile: opts.config, lake: opts.lake });
}

export function withGlobals(cmd: Command): Command {
  return cmd
    .addOption(new Option('--config <file>', 'config file (default: cclake.config.* here, else the embedded default)'))
    .addOption(new Option('--lake <dir>', 'local lake folder (overrides the config)'));
}
