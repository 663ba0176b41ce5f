import { Injectable } from '@nestjs/common';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface UiAsset {
  contentType: string;
  body: Buffer;
}

/**
 * The files of src/ui/public, read once at start-up: the build copies them next to the compiled
 * controller (dist/ui/public); from ts-jest they are found in place. Only files listed here are ever served.
 */
@Injectable()
export class UiAssets {
  readonly directory = uiPublicDirectory();
  private readonly files = new Map<string, UiAsset>();

  constructor() {
    for (const name of readdirSync(this.directory)) {
      const contentType = CONTENT_TYPES[extname(name)];
      if (contentType) this.files.set(name, { contentType, body: readFileSync(join(this.directory, name)) });
    }
  }

  /** A file by name, or a page by its name without `.html` (`/ui/audit` → audit.html). */
  find(name: string): UiAsset | undefined {
    return this.files.get(name) ?? this.files.get(`${name}.html`);
  }
}

export function uiPublicDirectory(): string {
  const candidates = [join(__dirname, 'public'), join(__dirname, '..', '..', 'src', 'ui', 'public')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`web page files not found (looked in ${candidates.join(', ')}); run npm run build`);
  return found;
}
