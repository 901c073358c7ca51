import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bookRows, isbn13CheckDigit, isValidIsbn13, nextBook, rng } from '../../src/command/sample-data/books.js';

describe('sample books', () => {
  it('the ISBN-13 check digit matches known books', () => {
    assert.equal(isbn13CheckDigit('978030640615'), 7); // 978-0-306-40615-7
    assert.equal(isbn13CheckDigit('978186197271'), 2); // 978-1-86197-271-2
    assert.ok(isValidIsbn13('9780306406157'));
    assert.ok(!isValidIsbn13('9780306406158'));
    assert.ok(!isValidIsbn13('978030640615'));
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = [...bookRows(7, 50)];
    assert.deepEqual(a, [...bookRows(7, 50)]);
    assert.notDeepEqual(a, [...bookRows(8, 50)]);
  });

  it('rows are valid and varied', () => {
    const r = rng(1);
    const books = Array.from({ length: 5000 }, () => nextBook(r));
    for (const b of books) {
      assert.ok(isValidIsbn13(b.isbn), b.isbn);
      assert.match(b.isbn, /^97[89]/);
      assert.ok(b.published_year >= 1900 && b.published_year <= 2025);
      assert.match(b.price, /^\d{1,2}\.\d\d$/);
      assert.ok(Number(b.price) >= 4 && Number(b.price) < 90);
      assert.ok(Number.isInteger(b.stock) && b.stock >= 0 && b.stock <= 500);
      assert.ok(b.title.length > 3 && b.author.includes(' '));
    }
    assert.ok(new Set(books.map((b) => b.title)).size > 1000, 'many distinct titles');
    assert.ok(new Set(books.map((b) => b.author)).size > 500, 'many distinct authors');
    assert.equal(new Set(books.map((b) => b.isbn)).size, books.length, 'ISBNs do not repeat in a sample');
    assert.ok(books.some((b) => b.stock === 0) && books.some((b) => b.isbn.startsWith('979')));
  });
});
