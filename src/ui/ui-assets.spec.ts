import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UiAssets } from './ui-assets';
import { UI_CONTENT_SECURITY_POLICY } from './ui.controller';

describe('UiAssets', () => {
  const assets = new UiAssets();

  it('serves each page by its name, with or without .html, with its content type', () => {
    expect(assets.find('index.html')?.contentType).toBe('text/html; charset=utf-8');
    expect(assets.find('audit')?.body.toString()).toContain('<h1>Audit log</h1>');
    expect(assets.find('dead-letters')).toBeDefined();
    expect(assets.find('queues')).toBeDefined();
    expect(assets.find('accounts')).toBeDefined();
    expect(assets.find('common.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(assets.find('styles.css')?.contentType).toBe('text/css; charset=utf-8');
  });

  it.each(['../ui.controller.ts', '..', '.', 'ui-assets.ts', 'missing', '%2e%2e', ''])(
    'serves nothing for %p',
    (name) => {
      expect(assets.find(name)).toBeUndefined();
    },
  );

  it('pages hold no inline script, inline style or inline event handler (the CSP would block them)', () => {
    expect(UI_CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    const pages = readdirSync(assets.directory).filter((name) => name.endsWith('.html'));
    expect(pages.sort()).toEqual([
      'access-report.html',
      'accounts.html',
      'audit.html',
      'dead-letters.html',
      'index.html',
      'operations.html',
      'queues.html',
    ]);
    for (const page of pages) {
      const html = readFileSync(join(assets.directory, page), 'utf8');
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="\/ui\/[\w-]+\.js"/);
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
      expect(html).toMatch(/<html lang="en">/);
      expect(html).toMatch(/<main id="main"/);
    }
  });
});
