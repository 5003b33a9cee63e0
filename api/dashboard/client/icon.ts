/** Kiln's flame mark: drawn in the page header and served as the favicon. */
export const FLAME_PATH = 'M12 2.5c.6 3.1-1.2 4.9-2.6 6.6C8 10.8 7 12.4 7 14.6A5 5 0 0 0 12 19.5a5 5 0 0 0 5-4.9c0-2.2-1.2-3.6-2.2-4.6.1 1.5-.5 2.6-1.5 3.1.5-3.2-.3-7.1-1.3-10.6z';

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="5" fill="#1f2937"/><path fill="#f97316" d="${FLAME_PATH}"/></svg>`;
