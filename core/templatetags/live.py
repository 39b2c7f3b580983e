"""``{% live "element-id" %}…{% endlive %}``: a part of the page that htmx keeps current (core/live.py)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from core.live import POLL_SECONDS, VERSION_PARAMETER, LiveRegion, live_version, poll_url, record_region

register = template.Library()


@register.tag("live")
def do_live(parser: template.base.Parser, token: template.base.Token) -> LiveNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% live %} takes one argument: the element's id")
    nodelist = parser.parse(("endlive",))
    parser.delete_first_token()
    return LiveNode(parser.compile_filter(bits[1]), nodelist)


class LiveNode(template.Node):
    def __init__(self, element_id: template.base.FilterExpression, nodelist: template.NodeList) -> None:
        self.element_id = element_id
        self.nodelist = nodelist

    def render(self, context: template.Context) -> str:
        element_id = self.element_id.resolve(context)
        content = self.nodelist.render(context)
        request = context["request"]
        version = live_version(content)
        html = format_html(
            '<div id="{}" class="live-region" hx-get="{}" hx-trigger="every {}s" hx-swap="outerHTML"'
            ' hx-vals=\'{{"{}": "{}"}}\'>{}</div>',
            element_id,
            poll_url(request),
            POLL_SECONDS,
            VERSION_PARAMETER,
            version,
            content,
        )
        record_region(request, element_id, LiveRegion(html=html, version=version))
        return html
