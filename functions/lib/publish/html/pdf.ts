/**
 * The PDF snapshot of a local dashboard: the page opened in headless Chromium (Debian's `chromium`,
 * driven by playwright-core: no browser download), printed as one PDF per sheet (as QuickSight's
 * snapshots are), each one page as tall as its sheet, so a sheet is never cut across pages.
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

/**
 * Prints each sheet of `htmlFile` to its own PDF (`sheets`: sheet id and file), one page each, as
 * QuickSight's snapshot makes one PDF per sheet. Returns the files' page counts.
 */
export async function printDashboard(
  htmlFile: string,
  sheets: { sheetId: string; pdfFile: string }[],
  executablePath: string,
  timeoutMs = 60_000,
): Promise<{ pages: number[] }> {
  if (!existsSync(executablePath)) throw new ChromiumMissingError(executablePath);
  const profile = mkdtempSync(path.join(tmpdir(), 'cclake-chromium-'));
  // A fresh profile every run: nothing cached or remembered from an earlier page.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: timeoutMs,
    viewport: { width: PAGE_WIDTH_PX, height: 900 },
    offline: true,
  });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load', timeout: timeoutMs });
    await page.waitForSelector('body[data-ready="true"]', { timeout: timeoutMs });
    if (errors.length) throw new Error(`the dashboard page failed in Chromium: ${errors[0]}`);
    await page.emulateMedia({ media: 'print' });
    const pages: number[] = [];
    for (const { sheetId, pdfFile } of sheets) {
      // Only this sheet is shown; the page is as tall as the sheet, so it is one PDF page.
      const height = await page.$$eval(
        'section.sheet',
        (all, id) => {
          let h = 0;
          // (no DOM types in this Node project: the element's shape as used here)
          for (const s of all as unknown as {
            dataset: { sheetId?: string };
            style: { display: string; breakAfter: string };
            getBoundingClientRect(): { height: number };
          }[]) {
            const mine = s.dataset.sheetId === id;
            s.style.display = mine ? '' : 'none';
            s.style.breakAfter = mine ? 'auto' : '';
            if (mine) h = Math.ceil(s.getBoundingClientRect().height);
          }
          return h;
        },
        sheetId,
      );
      if (!height) throw new Error(`the dashboard page has no sheet ${sheetId}`);
      await page.pdf({
        path: pdfFile,
        width: `${PAGE_WIDTH_PX}px`,
        height: `${Math.max(height, 600) + 48}px`,
        printBackground: true,
        margin: { top: '0', bottom: '0', left: '0', right: '0' },
      });
      pages.push(1);
    }
    return { pages };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
