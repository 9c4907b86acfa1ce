"""The forms a case leaves on paper (一案一卷): HTML templates rendered to PDF with WeasyPrint.

`paper.render` turns a template into PDF bytes and a PDF into a response; `paper.catalogue`
knows which forms a case has and what each holds; `paper.dossier` binds them into the
case's file. docs/paper.md describes the forms and where each fact comes from.
"""
