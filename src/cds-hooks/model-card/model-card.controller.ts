import { Controller, Get, Inject, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import { StudentModel } from '../../inference/student-model';
import type { HttpRequest, HttpResponse } from '../../common/http.types';
import { Public } from '../auth/public.decorator';
import { modelCardOf, renderModelCardHtml } from './model-card.page';

/** /models/{name}: the page card sources link to: provenance, data, metrics, threshold, limits. HTML, or JSON on request. */
@Controller('models')
@Public()
export class ModelCardController {
  constructor(@Inject(StudentModel) private readonly model: StudentModel) {}

  @Get(':name')
  page(@Param('name') name: string, @Query('format') format: string | undefined, @Req() req: HttpRequest, @Res() res: HttpResponse): void {
    if (name !== this.model.manifest.name) throw new NotFoundException(`No model '${name}' is served here`);
    const card = modelCardOf(this.model.manifest);
    const wantsJson = format === 'json' || (format !== 'html' && /application\/json/.test(req.headers.accept ?? '') && !/text\/html/.test(req.headers.accept ?? ''));
    if (wantsJson) {
      res.status(200).json(card);
      return;
    }
    res.status(200).type('text/html; charset=utf-8').send(renderModelCardHtml(card));
  }
}
