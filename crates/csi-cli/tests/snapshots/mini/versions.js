window.CSI_VERSIONS = {
  "latest": "2024",
  "newer": "已发布更新的调查期：",
  "study": "mini",
  "waves": [
    {
      "fieldwork": null,
      "id": "2024",
      "label": "2024",
      "pages": [
        "index.html",
        "method.html",
        "downloads.html"
      ]
    }
  ]
};
