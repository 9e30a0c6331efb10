import { Type } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';

class PageMeta {
  @ApiProperty() page: number;
  @ApiProperty() limit: number;
  @ApiProperty() total: number;
  @ApiProperty() totalPages: number;
}

/** The OpenAPI schema of a paginated list of `item` (API.md section 1). */
export function PageOf<T>(item: Type<T>): Type<{ data: T[]; meta: PageMeta }> {
  class Page {
    @ApiProperty({ type: [item] }) data: T[];
    @ApiProperty({ type: PageMeta }) meta: PageMeta;
  }
  Object.defineProperty(Page, 'name', { value: `${item.name}Page` });
  return Page;
}
