import { Page } from '@playwright/test';
import { FR, Texts } from './texts';

/** What every page object holds: the page, and the language its texts are looked for in. */
export abstract class PageObject {
  constructor(
    readonly page: Page,
    readonly tx: Texts = FR,
  ) {}
}
