import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { UiAssets } from './ui-assets';

/** Pages may load only their own scripts, styles and images, and talk only to this origin. */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The web pages: static files, no build step; the pages call the JSON routes with the pasted API key. */
@ApiExcludeController()
@Controller('ui')
export class UiController {
  constructor(private readonly assets: UiAssets) {}

  @Get()
  signIn(@Res() reply: FastifyReply): void {
    this.send(reply, 'index.html');
  }

  @Get(':name')
  file(@Param('name') name: string, @Res() reply: FastifyReply): void {
    this.send(reply, name);
  }

  private send(reply: FastifyReply, name: string): void {
    const asset = this.assets.find(name);
    if (!asset) throw new NotFoundException('no such page or file under /ui');
    void reply
      .header('content-security-policy', UI_CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .type(asset.contentType)
      .send(asset.body);
  }
}
