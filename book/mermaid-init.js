// Draws the book's diagrams. A ```mermaid block reaches the page as
// <pre><code class="language-mermaid">; each is swapped for the element mermaid
// draws into, then mermaid (vendored in book/vendor/, no network) draws them all in
// the light or dark palette that matches the reader's theme.
(() => {
    const dark = ['ayu', 'navy', 'coal'].some((theme) =>
        document.documentElement.classList.contains(theme));
    for (const code of document.querySelectorAll('code.language-mermaid')) {
        const diagram = document.createElement('pre');
        diagram.className = 'mermaid';
        diagram.textContent = code.textContent;
        code.parentElement.replaceWith(diagram);
    }
    mermaid.initialize({ startOnLoad: false, theme: dark ? 'dark' : 'default' });
    mermaid.run();
    // A diagram drawn in one palette stays so; redraw the page when the reader
    // switches between a light and a dark theme.
    for (const button of document.querySelectorAll('button.theme')) {
        button.addEventListener('click', () => {
            const toDark = ['ayu', 'navy', 'coal'].includes(button.id.replace('mdbook-theme-', ''));
            if (toDark !== dark) window.location.reload();
        });
    }
})();
