"""The 申报材料 package: 申请表.docx, the evidence in indicator folders, 材料清单目录.xlsx, 缺项报告."""
