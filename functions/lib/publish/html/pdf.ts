/**
 * The PDF snapshot of a local dashboard: the page opened in headless Chromium (Debian's `chromium`,
 * driven by playwright-core: no browser download), printed with one PDF page per sheet. The page is
 * tall enough for the tallest sheet, so a sheet is never cut across pages.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Chromium could not be found: the HTML is still written; the caller says how to get the PDF. */
export class ChromiumMissingError extends Error {
  constructor(readonly executablePath: string) {
    super(`the PDF snapshot needs Chromium at ${executablePath} (Debian: apt-get install chromium; or set publish.chromiumPath)`);
    this.name = 'ChromiumMissingError';
  }
}

export const PAGE_WIDTH_PX = 1280;

/** Prints `htmlFile` to `pdfFile`; returns the number of pages (the sheets). */
export async function printDashboard(htmlFile: string, pdfFile: string, executablePath: string, timeoutMs = 60_000): Promise<{ pages: number }> {
  if (!existsSync(executablePath)) throw new ChromiumMissingError(executablePath);
  const profile = mkdtempSync(path.join(tmpdir(), 'cclake-chromium-'));
  // A fresh profile every run: nothing cached or remembered from an earlier page.
  const context = await chromium.launchPersistentContext(profile, { executablePath, args: CHROMIUM_ARGS, headless: true, timeout: timeoutMs, viewport: { width: PAGE_WIDTH_PX, height: 900 }, offline: true });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load', timeout: timeoutMs });
    await page.waitForSelector('body[data-ready="true"]', { timeout: timeoutMs });
    if (errors.length) throw new Error(`the dashboard page failed in Chromium: ${errors[0]}`);
    await page.emulateMedia({ media: 'print' });
    const heights = await page.$$eval('section.sheet', (sheets) => sheets.map((s) => Math.ceil(s.getBoundingClientRect().height)));
    const height = Math.max(...heights, 600) + 48;
    await page.pdf({ path: pdfFile, width: `${PAGE_WIDTH_PX}px`, height: `${height}px`, printBackground: true, margin: { top: '0', bottom: '0', left: '0', right: '0' } });
    return { pages: heights.length };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
