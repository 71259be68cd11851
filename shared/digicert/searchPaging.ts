/**
 * searchCertificate paging that cannot miss a certificate, however the CA reads the two fields no document
 * defines (pki-ws-protocol.md, "searchCertificate paging"): whether `startIndex` counts from 0 or from 1, and
 * whether `certificateCount` is the page's count or the number of all matches.
 *
 * - The first page is asked without `startIndex` (the XSD allows it): every CA starts at its own beginning.
 * - A later page starts at the number of certificates the pages so far returned: right on a 0-based CA; on a
 *   1-based CA it asks the previous page's last certificate again, which is dropped by serial number. The
 *   other choice (count + 1) is right on a 1-based CA but skips one certificate per page on a 0-based one — the
 *   first match of a one-certificate search, which is the certificate a reconciliation looks for.
 * - `moreCertificateAvailable` decides when the CA sends it. Without it, a `certificateCount` larger than the
 *   page is a total to collect; otherwise pages are asked until an empty one (or, on a 1-based CA, until the
 *   overlap is all a page holds twice) — one or two requests more, the price of not missing one.
 */
import type { CaCertificateRecord } from './types';
import type { SearchCertificatePage } from './management';

/** Why paging cannot go on: the caller turns it into an unexpected-answer error naming the CA. */
export class SearchPagingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchPagingError';
  }
}

export class SearchPaging {
  /** Every certificate found so far, each serial number once, in the CA's order. */
  readonly records: CaCertificateRecord[] = [];
  private readonly seen = new Set<string>();
  /** Certificates the pages returned, repeats included: the next page's startIndex. */
  private returned = 0;
  private pagesWithNothingNew = 0;
  private startIndex: number | undefined = undefined;

  /** @param maxResults most certificates collected before the search is refused (a runaway CA or filter). */
  constructor(private readonly maxResults: number) {}

  /** The startIndex to send for the next page; undefined: leave the element out. */
  get nextStartIndex(): number | undefined {
    return this.startIndex;
  }

  /** Takes the answer to the page last asked for; true when another page must be asked for. */
  accept(page: SearchCertificatePage): boolean {
    let fresh = 0;
    for (const record of page.records) {
      // Repeats come from the 1-based overlap above, or from a page boundary that moved between two requests.
      if (this.seen.has(record.serialNumber)) continue;
      this.seen.add(record.serialNumber);
      this.records.push(record);
      fresh += 1;
    }
    const asked =
      this.startIndex === undefined ? 'the first page' : `the page from startIndex ${this.startIndex}`;
    if (page.records.length === 0) {
      if (page.more === true) {
        throw new SearchPagingError(`moreCertificateAvailable is true but ${asked} holds no certificate`);
      }
      return false;
    }
    this.returned += page.records.length;
    this.startIndex = this.returned;
    this.pagesWithNothingNew = fresh === 0 ? this.pagesWithNothingNew + 1 : 0;

    if (page.more === false) return false;
    const total =
      page.certificateCount !== undefined && page.certificateCount > page.records.length
        ? page.certificateCount
        : undefined;
    if (page.more === undefined && total !== undefined && this.records.length >= total) return false;
    // One page of nothing new is the 1-based overlap (a page size of 1, or the last page); two in a row is a
    // CA that ignores startIndex — or, with nothing to say whether more follow, simply the end.
    if (this.pagesWithNothingNew >= 2) {
      if (page.more === undefined && total === undefined) return false;
      throw new SearchPagingError(
        `${asked} brought no certificate not already seen, twice in a row, although the CA says more follow (does it ignore startIndex?)`,
      );
    }
    if (this.returned >= this.maxResults) {
      throw new SearchPagingError(
        `more than ${this.maxResults} certificates match the search; the broker stops paging there`,
      );
    }
    return true;
  }
}
