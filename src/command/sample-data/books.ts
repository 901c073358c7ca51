// The sample `books` rows: a deterministic generator (same seed, same rows) of varied, realistic
// titles, authors, years, valid ISBN-13s, prices and stock; pure, so it is unit-tested alone.

export interface Book {
  title: string;
  author: string;
  published_year: number;
  isbn: string;
  /** a decimal with two places, as text (exact in every engine) */
  price: string;
  stock: number;
}

export const BOOK_COLUMNS = ['title', 'author', 'published_year', 'isbn', 'price', 'stock'] as const;

/** The seed's table shape, for PostgreSQL. */
export const BOOKS_DDL_POSTGRES = `CREATE TABLE IF NOT EXISTS books (
  id bigserial PRIMARY KEY,
  title text NOT NULL,
  author text NOT NULL,
  published_year int NOT NULL,
  isbn text NOT NULL,
  price numeric(8,2) NOT NULL,
  stock int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now())`;

/** The same shape for MySQL/MariaDB: InnoDB, utf8mb4 (titles and names are not all ASCII). */
export const BOOKS_DDL_MYSQL = `CREATE TABLE IF NOT EXISTS books (
  id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title varchar(255) NOT NULL,
  author varchar(255) NOT NULL,
  published_year int NOT NULL,
  isbn char(13) NOT NULL,
  price decimal(8,2) NOT NULL,
  stock int NOT NULL,
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** The books DDL per engine. */
export const BOOKS_DDL: Record<'postgres' | 'mysql', string> = { postgres: BOOKS_DDL_POSTGRES, mysql: BOOKS_DDL_MYSQL };

const ADJECTIVES = ['Silent', 'Forgotten', 'Crimson', 'Hidden', 'Last', 'Golden', 'Broken', 'Distant', 'Quiet', 'Wild', 'Burning', 'Frozen', 'Secret', 'Endless', 'Hollow', 'Northern', 'Restless', 'Paper', 'Glass', 'Iron', 'Velvet', 'Midnight', 'Summer', 'Winter', 'Lonely', 'Bright', 'Ancient', 'Little', 'Final', 'Small'];
const NOUNS = ['River', 'Garden', 'Orchard', 'Lighthouse', 'Kingdom', 'Harbor', 'Mountain', 'Library', 'Letter', 'Island', 'Forest', 'City', 'Song', 'Promise', 'Shadow', 'Journey', 'House', 'Map', 'Bridge', 'Clock', 'Mirror', 'Station', 'Road', 'Sea', 'Winter', 'Crown', 'Storm', 'Field', 'Window', 'Tide'];
const TOPICS = ['Glass', 'Salt', 'Clocks', 'Maps', 'Bees', 'Silk', 'Rivers', 'Printing', 'Coffee', 'Bridges', 'Numbers', 'Stars', 'Trains', 'Paper', 'Ships', 'Gardens', 'Bread', 'Music', 'Light', 'Money'];
const PATTERNS: Array<(r: Rng) => string> = [
  (r) => `The ${pick(r, ADJECTIVES)} ${pick(r, NOUNS)}`,
  (r) => `${pick(r, ADJECTIVES)} ${pick(r, NOUNS)}s`,
  (r) => `A History of ${pick(r, TOPICS)}`,
  (r) => `The ${pick(r, NOUNS)} of ${pick(r, ADJECTIVES)} ${pick(r, NOUNS)}s`,
  (r) => `${pick(r, NOUNS)} and ${pick(r, NOUNS)}`,
  (r) => `On ${pick(r, TOPICS)}`,
  (r) => `The ${pick(r, NOUNS)} Keeper's Daughter`,
  (r) => `Notes from the ${pick(r, ADJECTIVES)} ${pick(r, NOUNS)}`,
];
const FIRST = ['Ada', 'Jonas', 'Mei', 'Olu', 'Clara', 'Tomás', 'Ingrid', 'Rahul', 'Sofia', 'Kenji', 'Amara', 'Lucas', 'Hana', 'Émile', 'Nadia', 'Pavel', 'Grace', 'Omar', 'Lena', 'Diego', 'Yuki', 'Felix', 'Zara', 'Mateo', 'Aoife', 'Samuel', 'Leila', 'Björn', 'Ines', 'Kwame'];
const LAST = ['Okafor', 'Lindqvist', 'Moreau', 'Tanaka', 'García', 'Novak', 'Hughes', 'Petrov', 'Rossi', 'Nakamura', 'Mensah', 'Schneider', 'Kowalski', "O'Brien", 'Haddad', 'Fischer', 'Costa', 'Ivanova', 'Dubois', 'Sato', 'Bauer', 'Silva', 'Andersen', 'Kaur', 'Murphy', 'Weber', 'Nguyen', 'Rahman', 'Walsh', 'Adeyemi'];

/** mulberry32: small, fast, good enough for sample data; not for anything secret. */
export type Rng = () => number;
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: Rng, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function int(r: Rng, min: number, max: number): number {
  return min + Math.floor(r() * (max - min + 1));
}

/** The ISBN-13 check digit of 12 digits: weights 1,3,1,3…; (10 − sum mod 10) mod 10. */
export function isbn13CheckDigit(first12: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

export function isValidIsbn13(isbn: string): boolean {
  return /^\d{13}$/.test(isbn) && isbn13CheckDigit(isbn.slice(0, 12)) === Number(isbn[12]);
}

/** One book from the generator's state. */
export function nextBook(r: Rng): Book {
  const author = r() < 0.08 ? `${pick(r, FIRST)} ${pick(r, FIRST)[0]}. ${pick(r, LAST)}` : `${pick(r, FIRST)} ${pick(r, LAST)}`;
  const prefix = r() < 0.85 ? '978' : '979';
  let body = '';
  for (let i = 0; i < 9; i++) body += String(int(r, 0, 9));
  const first12 = prefix + body;
  // Prices cluster like real ones: mostly x.99 or x.50, a few round.
  const whole = int(r, 4, 89);
  const cents = pick(r, ['99', '99', '99', '50', '95', '00']);
  return {
    title: pick(r, PATTERNS)(r),
    author,
    published_year: r() < 0.6 ? int(r, 1990, 2025) : int(r, 1900, 1989),
    isbn: first12 + String(isbn13CheckDigit(first12)),
    price: `${whole}.${cents}`,
    stock: r() < 0.1 ? 0 : int(r, 1, 500),
  };
}

/** `count` books from `seed`, as rows in BOOK_COLUMNS order. */
export function* bookRows(seed: number, count: number): Generator<Array<string | number>> {
  const r = rng(seed);
  for (let i = 0; i < count; i++) {
    const b = nextBook(r);
    yield [b.title, b.author, b.published_year, b.isbn, b.price, b.stock];
  }
}
