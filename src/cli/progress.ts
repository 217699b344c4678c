/**
 * A one-line progress bar for long CLI commands (`cache rebuild`, `cache migrate`), redrawn in
 * place on a terminal at most every 100 ms, and the human number formats those commands print.
 */
import type { Writable } from 'node:stream';

/** `1,234,567` (thousands separators, as pys3local printed counts). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * A human size with one decimal on a 1024 base: `29.0 B`, `1.5 KB`, `3.2 GB` (the format of
 * pys3local's `cache stats`).
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u] ?? 'B'}`;
}

/** `0:07`, `12:34`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A position of the work. */
export interface ProgressState {
  /** Items done (files). */
  done: number;
  /** Items in all, when known (gives a percentage and an ETA). */
  total?: number;
  /** Bytes done. */
  bytes: number;
  /** Shown before the figures (e.g. `counting files`). */
  label?: string;
}

/** Options of {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** What the items are (`files`). */
  unit: string;
  /** Minimum ms between redraws (default 100). */
  intervalMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/**
 * Draws `[#####-----]  45%  12,345/27,000 files  1,234 files/s  5.6 MB/s  ETA 0:12` on one line of
 * a terminal, rewritten with `\r`. Rates are averages since the bar was created. Use only when
 * the stream is a TTY; {@link ProgressBar.done} clears the line.
 */
export class ProgressBar {
  readonly #out: Writable & { columns?: number };
  readonly #unit: string;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #start: number;
  #last = -Infinity;
  #drawn = false;
  #label: string | undefined;

  constructor(out: Writable & { columns?: number }, opts: ProgressBarOptions) {
    this.#out = out;
    this.#unit = opts.unit;
    this.#interval = opts.intervalMs ?? 100;
    this.#now = opts.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** Redraws when the interval has passed, the label changed, or `force`. */
  update(state: ProgressState, force = false): void {
    const now = this.#now();
    const relabel = state.label !== this.#label;
    this.#label = state.label;
    if (!force && !relabel && now - this.#last < this.#interval) return;
    this.#last = now;
    const width = Math.max(40, (this.#out.columns ?? 80) - 1);
    const line = this.render(state, (now - this.#start) / 1000, width);
    this.#out.write(`\r${line.padEnd(width).slice(0, width)}`);
    this.#drawn = true;
  }

  /** The bar's text for `state` after `elapsed` seconds, at most `width` characters. */
  render(state: ProgressState, elapsed: number, width: number): string {
    const rate = elapsed > 0 ? state.done / elapsed : 0;
    const byteRate = elapsed > 0 ? state.bytes / elapsed : 0;
    const parts: string[] = [];
    if (state.label !== undefined) parts.push(state.label);
    const total = state.total;
    let bar = '';
    if (total !== undefined && total > 0) {
      const ratio = Math.min(1, state.done / total);
      parts.push(`${String(Math.floor(ratio * 100)).padStart(3)}%`);
      parts.push(`${formatCount(state.done)}/${formatCount(total)} ${this.#unit}`);
      const eta = rate > 0 ? (total - state.done) / rate : undefined;
      parts.push(`${formatCount(rate)} ${this.#unit}/s`, `${formatBytes(byteRate)}/s`);
      parts.push(`ETA ${eta === undefined ? '?' : formatDuration(eta)}`);
      const text = parts.join('  ');
      const room = width - text.length - 4;
      if (room >= 10) {
        const cells = Math.min(30, room);
        const full = Math.round(ratio * cells);
        bar = `[${'#'.repeat(full)}${'-'.repeat(cells - full)}]  `;
      }
      return bar + text;
    }
    parts.push(`${formatCount(state.done)} ${this.#unit}`, `${formatBytes(state.bytes)}`);
    parts.push(`${formatCount(rate)} ${this.#unit}/s`, `${formatBytes(byteRate)}/s`);
    return parts.join('  ');
  }

  /** Clears the bar's line (when one was drawn). */
  done(): void {
    if (!this.#drawn) return;
    const width = Math.max(40, (this.#out.columns ?? 80) - 1);
    this.#out.write(`\r${' '.repeat(width)}\r`);
    this.#drawn = false;
  }
}
