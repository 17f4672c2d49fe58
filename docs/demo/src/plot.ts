// The Fine-tune tab's live loss plot: an SVG polyline of the losses so far, scaled to their range,
// with the first, last and lowest values written beside it. No chart library.
const SVG = 'http://www.w3.org/2000/svg';

/** A loss curve drawn into an `<svg>`; its losses are also kept in `data-losses` (JSON) for tests. */
export class LossPlot {
  private losses: number[] = [];
  private readonly line: SVGPolylineElement;
  private readonly label: SVGTextElement;
  private readonly top: SVGTextElement;
  private readonly bottom: SVGTextElement;
  private readonly width: number;
  private readonly height: number;

  /** @param svg - the element to draw in (its viewBox sets the drawing size) */
  constructor(private readonly svg: SVGSVGElement) {
    this.width = svg.viewBox.baseVal.width || 600;
    this.height = svg.viewBox.baseVal.height || 200;
    const axes = document.createElementNS(SVG, 'path');
    axes.setAttribute('d', `M 40 10 V ${this.height - 20} H ${this.width - 10}`);
    axes.setAttribute('class', 'axes');
    this.line = document.createElementNS(SVG, 'polyline');
    this.line.setAttribute('class', 'loss');
    const text = (x: number, y: number, anchor: string) => {
      const t = document.createElementNS(SVG, 'text');
      t.setAttribute('x', String(x));
      t.setAttribute('y', String(y));
      t.setAttribute('text-anchor', anchor);
      return t;
    };
    this.label = text(this.width - 10, this.height - 4, 'end');
    this.top = text(36, 16, 'end'); // the highest loss, at the top of the y axis
    this.bottom = text(36, this.height - 20, 'end'); // the lowest
    svg.replaceChildren(axes, this.line, this.label, this.top, this.bottom);
    this.reset();
  }

  /** Forget every point. */
  reset(): void {
    this.losses = [];
    this.draw();
  }

  /** Add the loss of the next step and redraw. */
  push(loss: number): void {
    this.losses.push(loss);
    this.draw();
  }

  private draw(): void {
    const n = this.losses.length;
    const lo = Math.min(...this.losses);
    const hi = Math.max(...this.losses);
    const span = hi - lo || 1;
    const x = (i: number) => 40 + ((this.width - 50) * (n > 1 ? i / (n - 1) : 0.5));
    const y = (v: number) => 10 + (this.height - 30) * (hi === lo ? 0.5 : (hi - v) / span);
    this.line.setAttribute('points', this.losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '));
    this.top.textContent = n ? hi.toFixed(2) : '';
    this.bottom.textContent = n ? lo.toFixed(2) : '';
    this.label.textContent = n ? `step ${n}: loss ${this.losses[n - 1].toFixed(4)} (first ${this.losses[0].toFixed(4)}, lowest ${lo.toFixed(4)})` : 'no steps yet';
    this.svg.dataset.losses = JSON.stringify(this.losses);
  }
}
