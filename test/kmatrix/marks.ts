// The line prefix the in-guest suite writes its figures with, and the host side reads them by.
export const KMATRIX_MARK = '#kmatrix';
