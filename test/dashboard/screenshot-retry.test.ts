/** The screenshot helper of the browser tests retries only Chromium's "Unable to capture screenshot". */
import { describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';

const failing = (messages: string[]) => {
  let calls = 0;
  const take = async () => {
    const message = messages[calls++];
    if (message !== undefined) throw new Error(message);
  };
  return { take, calls: () => calls };
};

describe('screenshot()', () => {
  it('takes the picture again after Chromium could not capture it', async () => {
    const t = failing(['page.screenshot: Protocol error (Page.captureScreenshot): Unable to capture screenshot', 'Unable to capture screenshot']);
    await screenshot(t.take);
    expect(t.calls()).toBe(3);
  });

  it('gives up after three tries', async () => {
    const t = failing(Array(5).fill('Unable to capture screenshot'));
    await expect(screenshot(t.take)).rejects.toThrow(/Unable to capture/);
    expect(t.calls()).toBe(3);
  });

  it('passes any other failure on at once', async () => {
    const t = failing(['Target page, context or browser has been closed']);
    await expect(screenshot(t.take)).rejects.toThrow(/has been closed/);
    expect(t.calls()).toBe(1);
  });
});
