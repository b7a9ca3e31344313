import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'leader:isPublic';
/** Routes outside CDS Hooks (health, model cards) that need no JWT. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
